"""The multi-layer perceptron of torchvision.ops.MLP: Linear, [norm], activation, Dropout per hidden layer."""
from ember import nn


class MLP(nn.Sequential):
    """``MLP(784, [512, 512, 10])``: the last entry of ``hidden_channels`` is the output width (no activation)."""

    def __init__(self, in_channels, hidden_channels, norm_layer=None, activation_layer=nn.ReLU, inplace=None,
                 bias=True, dropout=0.0):
        extra = {} if inplace is None else {"inplace": inplace}
        layers, width = [], in_channels
        for hidden in hidden_channels[:-1]:
            layers.append(nn.Linear(width, hidden, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden))
            layers += [activation_layer(**extra), nn.Dropout(dropout, **extra)]
            width = hidden
        layers += [nn.Linear(width, hidden_channels[-1], bias=bias), nn.Dropout(dropout, **extra)]
        super().__init__(*layers)
