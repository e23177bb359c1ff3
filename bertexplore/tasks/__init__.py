"""Task demos on top of the engine: classification, NER, extractive QA, next-sentence prediction, attributions.

Each capability is preprocess -> forward -> postprocess and returns plain data (dataclasses, numpy, dicts),
so notebooks and the Streamlit pages use the same functions:

    from bertexplore.loading import load_model
    from bertexplore.tasks.qa import answer
    result = answer(load_model("deepset/bert-base-cased-squad2", head="question-answering"), question, context)
"""
