"""LeNet-5 (LeCun et al., 1998) for 28x28 inputs, with ReLU and max pooling as it is usually trained today."""
from ember import nn


class LeNet5(nn.Module):
    """conv(6, 5x5, pad 2) - pool - conv(16, 5x5) - pool - 120 - 84 - classes, on (N, C, 28, 28) images."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True), nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
