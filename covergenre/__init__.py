"covergenre: tell a music album's genre from its cover image."
__version__ = "0.1.0"

# The one-liners a user reaches for, imported on first use so that `import covergenre` and `covergenre --help`
# stay fast (no torch, timm, faiss or scikit-learn until a function that needs them is called).
_EXPORTS = {
    'CoverSet': 'covergenre.data', 'load_cover': 'covergenre.data',
    'synth_covers': 'covergenre.synth',
    'audit': 'covergenre.audit',
    'embed': 'covergenre.embed', 'Embeddings': 'covergenre.embed',
    'read_text': 'covergenre.ocr',
    'cross_validate': 'covergenre.classify.scoring', 'evaluate': 'covergenre.classify.scoring',
    'train_model': 'covergenre.model', 'fit_model': 'covergenre.model', 'load_model': 'covergenre.model',
    'run_pipeline': 'covergenre.pipeline',
}
__all__ = ['__version__', *_EXPORTS]

def __getattr__(name):
    if name not in _EXPORTS: raise AttributeError(f'module covergenre has no attribute {name!r}')
    import importlib
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value

def __dir__(): return sorted(__all__)
