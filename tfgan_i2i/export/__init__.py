"""Shipping: SavedModel with serving signatures (TF Serving layout) and TFLite conversion with parity checks."""
from .loaded import ExportedModel, ExportError, load_exported, savedmodel_dir
from .savedmodel import export_savedmodel, serving_functions, signature_inputs, to_float, to_uint8
from .tflite import FORMATS as TFLITE_FORMATS
from .tflite import convert as convert_tflite
from .tflite import parity as tflite_parity
from .tflite import run as run_tflite

__all__ = ["ExportedModel", "ExportError", "load_exported", "savedmodel_dir", "export_savedmodel", "serving_functions",
           "signature_inputs", "to_float", "to_uint8", "TFLITE_FORMATS", "convert_tflite", "tflite_parity",
           "run_tflite"]
