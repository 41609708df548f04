"""Summary protos for the values SummaryWriter logs, built with tensorboard's own proto classes."""
import io

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_v2

from ember._tensor import Tensor


def to_numpy(value):
    """A tensor, array or number as a NumPy array (a bfloat16/float16 tensor as float32)."""
    if isinstance(value, Tensor):
        value = value.detach()
        if value.dtype.is_floating_point and value.dtype.itemsize < 4:
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def scalar(tag, value):
    array = to_numpy(value)
    if array.size != 1:
        raise ValueError(f"add_scalar: scalar value must have 1 element, got shape {list(array.shape)}")
    return Summary(value=[Summary.Value(tag=tag, simple_value=float(array.reshape(())))])


def _bucket_edges(values, bins, max_bins):
    if isinstance(bins, str):
        if bins == "tensorflow":  # buckets growing by 1.1x from 1e-12 to 1e20 on each side of 0, as TensorFlow's
            positive = 1e-12 * 1.1 ** np.arange(0, 775)
            positive = positive[positive < 1e20]
            reach = float(np.abs(values).max())
            if reach >= positive[-1]:
                positive = np.append(positive, np.nextafter(reach, np.inf))
            return np.concatenate([-positive[::-1], [0.0], positive])
        return np.histogram_bin_edges(values, bins=bins)
    edges = np.histogram_bin_edges(values, bins=bins)
    if max_bins is not None and len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(values, bins=max_bins)
    return edges


def histogram(tag, values, bins="tensorflow", max_bins=None):
    """A HistogramProto of ``values``: TensorBoard reads each bucket's count up to its right edge."""
    values = to_numpy(values).astype(np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    edges = _bucket_edges(values, bins, max_bins)
    counts, edges = np.histogram(values, bins=edges)
    nonzero = np.nonzero(counts)[0]
    start, end = (nonzero[0], nonzero[-1] + 1) if len(nonzero) else (0, len(counts))
    proto = HistogramProto(min=float(values.min()), max=float(values.max()), num=int(values.size),
                           sum=float(values.sum()), sum_squares=float((values * values).sum()),
                           bucket_limit=[float(e) for e in edges[start + 1:end + 1]],
                           bucket=[float(c) for c in counts[start:end]])
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def _hwc(array, dataformats):
    """An image array in height x width x channels order, from ``dataformats`` (CHW, HWC, HW)."""
    dataformats = dataformats.upper()
    if len(dataformats) != array.ndim:
        raise ValueError(f"image of shape {list(array.shape)} does not match dataformats {dataformats!r}")
    if dataformats in ("HW", "WH"):
        array = array if dataformats == "HW" else array.T
        return array[:, :, None]
    return np.transpose(array, [dataformats.index(c) for c in "HWC"])


def _png(hwc):
    from PIL import Image  # optional dependency: Pillow comes with tensorboard

    if np.issubdtype(hwc.dtype, np.floating):
        hwc = np.clip(hwc * 255.0 + 0.5, 0, 255)
    hwc = hwc.astype(np.uint8)
    channels = hwc.shape[2]
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise ValueError(f"an image has 1, 3 or 4 channels, got {channels}")
    buffer = io.BytesIO()
    Image.fromarray(hwc[:, :, 0] if channels == 1 else hwc, mode).save(buffer, format="PNG")
    height, width = hwc.shape[:2]
    return Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=buffer.getvalue())


def image(tag, img, dataformats="CHW"):
    """One image; float pixels in [0, 1], uint8 pixels in [0, 255]."""
    return Summary(value=[Summary.Value(tag=tag, image=_png(_hwc(to_numpy(img), dataformats)))])


def images(tag, imgs, dataformats="NCHW"):
    """A batch of images, tiled into one grid image (as torch's make_grid lays them: 8 per row)."""
    array = to_numpy(imgs)
    dataformats = dataformats.upper()
    if len(dataformats) != array.ndim or dataformats[0] != "N":
        raise ValueError(f"images of shape {list(array.shape)} do not match dataformats {dataformats!r}")
    hwc = np.stack([_hwc(a, dataformats[1:]) for a in array]) if len(array) else array
    n, h, w, c = hwc.shape
    cols = min(n, 8)
    rows = -(-n // cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=hwc.dtype)
    for i in range(n):
        r, col = divmod(i, cols)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = hwc[i]
    return Summary(value=[Summary.Value(tag=tag, image=_png(grid))])


def text(tag, text_string):
    """A string for TensorBoard's text plugin."""
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    tensor = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=metadata, tensor=tensor)])


def _hparam_value(value):
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"add_hparams: value of type {type(value).__name__} is not a bool, int, float, str or tensor")


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """The three summaries of one hparams session: the experiment (its hparams and metrics),
    the session start (this run's values) and the session end."""
    values = {k: _hparam_value(v) for k, v in hparam_dict.items()}
    domains = hparam_domain_discrete or {}
    hps = [hparams_v2.HParam(k, hparams_v2.Discrete(domains[k]) if k in domains else None) for k in values]
    experiment = hparams_v2.hparams_config_pb(hps, [hparams_v2.Metric(tag) for tag in metric_dict])
    start = hparams_v2.hparams_pb(values)
    end_data = plugin_data_pb2.HParamsPluginData(
        version=0, session_end_info=plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS))
    end_metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="hparams", content=end_data.SerializeToString()))
    end = Summary(value=[Summary.Value(tag="_hparams_/session_end_info", metadata=end_metadata)])
    return experiment, start, end
