"Classifiers of cover features (k-NN, probes, kernel SVM, fusion), their registry, one save format, and scoring."
# Hand-written, like covergenre/__init__.py: importing any covergenre.classify module runs this first, so every
# saved classifier type is registered before a model is loaded (timm's registry pattern).
from .core import *
from .scoring import *
from .knn import *
from .probes import *
from .svm import *
from .fusion import *
