"""Tested analysis code behind the dnnalign book.

Mahner, Muttenthaler, Güçlü & Hebart, "Dimensions underlying the representational
alignment of deep neural networks with humans", Nature Machine Intelligence (2025).
"""

__version__ = "0.1.0"
