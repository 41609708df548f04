"""nn modules: the Module base class and its containers."""
from ember.nn.modules.activation import *  # noqa: F403
from ember.nn.modules.activation import __all__ as _activations
from ember.nn.modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.modules.linear import Flatten, Identity, Linear, Unflatten
from ember.nn.modules.loss import *  # noqa: F403
from ember.nn.modules.loss import __all__ as _losses
from ember.nn.modules.module import Module

__all__ = ["Module", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential",
           "Flatten", "Identity", "Linear", "Unflatten"] + _activations + _losses
from ember.nn.modules.sparse import Embedding, EmbeddingBag  # noqa: E402
__all__ += ["Embedding", "EmbeddingBag"]
from ember.nn.modules.attention import MultiheadAttention  # noqa: E402
__all__ += ["MultiheadAttention"]
from ember.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402
__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from ember.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: E402,E501
__all__ += ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]
from ember.nn.modules.normalization import GroupNorm, LayerNorm, LocalResponseNorm, RMSNorm  # noqa: E402
__all__ += ["GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]
from ember.nn.modules.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: E402
                                         TransformerEncoder, TransformerEncoderLayer)
__all__ += ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]
from ember.nn.modules.bilinear import Bilinear, CosineSimilarity, PairwiseDistance, PReLU  # noqa: E402
__all__ += ["Bilinear", "CosineSimilarity", "PairwiseDistance", "PReLU"]
from ember.nn.modules.pooling import *  # noqa: E402,F403
from ember.nn.modules.pooling import __all__ as _pooling  # noqa: E402
from ember.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
from ember.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: E402
__all__ += _pooling + ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "PixelShuffle", "PixelUnshuffle"]
from ember.nn.modules.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: E402
__all__ += ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
from ember.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d  # noqa: E402
from ember.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: E402
__all__ += ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
from ember.nn.modules.padding import *  # noqa: E402,F403
from ember.nn.modules.padding import __all__ as _padding  # noqa: E402
__all__ += _padding
