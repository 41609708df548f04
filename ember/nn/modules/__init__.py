"""nn modules: the Module base class, its containers, and every layer and loss."""
from ember.nn.modules._factory_kwargs import factory_kwargs
from ember.nn.modules.activation import *  # noqa: F403
from ember.nn.modules.activation import __all__ as _activations
from ember.nn.modules.adaptive import AdaptiveLogSoftmaxWithLoss
from ember.nn.modules.attention import MultiheadAttention
from ember.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm
from ember.nn.modules.bilinear import Bilinear, CosineSimilarity, PairwiseDistance, PReLU
from ember.nn.modules.container import Container, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.modules.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ember.nn.modules.data_parallel import DataParallel
from ember.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from ember.nn.modules.fold import Fold, Unfold
from ember.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from ember.nn.modules.lazy import *  # noqa: F403
from ember.nn.modules.lazy import __all__ as _lazy
from ember.nn.modules.linear import Flatten, Identity, Linear, Unflatten
from ember.nn.modules.loss import *  # noqa: F403
from ember.nn.functional.layers import LinearCrossEntropyOptions
from ember.nn.modules.loss import __all__ as _losses
from ember.nn.modules.module import Module
from ember.nn.modules.normalization import CrossMapLRN2d, GroupNorm, LayerNorm, LocalResponseNorm, RMSNorm
from ember.nn.modules.padding import *  # noqa: F403
from ember.nn.modules.padding import __all__ as _padding
from ember.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle
from ember.nn.modules.pooling import *  # noqa: F403
from ember.nn.modules.pooling import __all__ as _pooling
from ember.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from ember.nn.modules.sparse import Embedding, EmbeddingBag
from ember.nn.modules.transformer import (
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
from ember.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AdaptiveLogSoftmaxWithLoss", "Container", "DataParallel", "LinearCrossEntropyOptions", "factory_kwargs",
    "Module", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential",
    "Flatten", "Identity", "Linear", "Unflatten", "Bilinear", "CosineSimilarity", "PairwiseDistance", "PReLU",
    "Embedding", "EmbeddingBag", "MultiheadAttention",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm",
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "PixelShuffle", "PixelUnshuffle", "Fold", "Unfold",
] + _activations + _losses + _pooling + _padding + _lazy
