"""``ember.utils.tensorboard.SummaryWriter``: log scalars, histograms, images, text, graphs and
hyperparameters to event files TensorBoard reads, as ``torch.utils.tensorboard``.

The event-file records and protos are tensorboard's own (``pip install ember[tensorboard]``);
``import ember`` does not load them.

>>> writer = SummaryWriter("runs/exp1")                    # doctest: +SKIP
>>> writer.add_scalar("loss", 0.25, global_step=10)        # doctest: +SKIP
"""
import os
import socket
import time

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from ember.utils.tensorboard import summary
from ember.utils.tensorboard.graph import graph_def

__all__ = ["SummaryWriter"]


class SummaryWriter:
    """Write summaries for TensorBoard into ``log_dir`` (default ``runs/<date>_<host><comment>``)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            stamp = time.strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self._writer = None
        self._sub_writers = {}
        self._file_writer()

    def _file_writer(self):
        if self._writer is None:
            self._writer = EventFileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            if self.purge_step is not None:  # a restarted run: TensorBoard drops the events at and after it
                self._writer.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                self._writer.add_event(Event(step=self.purge_step, session_log=_session_start()))
                self.purge_step = None
        return self._writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary_proto, global_step=None, walltime=None, writer=None):
        event = Event(summary=summary_proto, wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        (writer or self._file_writer()).add_event(event)

    # values ----------------------------------------------------------------------------
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """Log one number under ``tag`` at ``global_step``."""
        self._add(summary.scalar(tag, scalar_value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Log several numbers as one chart: each goes to the run ``<log_dir>/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            writer = self._sub_writers.get(path)
            if writer is None:
                writer = self._sub_writers[path] = EventFileWriter(path, self.max_queue, self.flush_secs,
                                                                   self.filename_suffix)
            self._add(summary.scalar(main_tag, value), global_step, walltime, writer)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """Log the distribution of ``values`` (``bins``: "tensorflow", a NumPy rule, or a count)."""
        self._add(summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Log one image (float in [0, 1] or uint8), laid out as ``dataformats``."""
        self._add(summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """Log a batch of images as one grid image."""
        self._add(summary.images(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._add(summary.text(tag, text_string), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Log ``model``'s graph, captured on ``input_to_model`` by ``ember.export``."""
        graph = graph_def(model, input_to_model)
        self._file_writer().add_event(Event(graph_def=graph.SerializeToString(), wall_time=time.time()))

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Log one run's hyperparameters and final metrics into ``<log_dir>/<run_name>``."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        run_dir = os.path.join(self.log_dir, run_name or str(time.time()))
        writer = EventFileWriter(run_dir, self.max_queue, self.flush_secs, self.filename_suffix)
        for proto in summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete):
            self._add(proto, None, None, writer)
        for tag, value in metric_dict.items():
            self._add(summary.scalar(tag, value), global_step, None, writer)
        writer.close()

    # files ---------------------------------------------------------------------------
    def flush(self):
        """Write what is queued to disk."""
        for writer in (self._writer, *self._sub_writers.values()):
            if writer is not None:
                writer.flush()

    def close(self):
        for writer in (self._writer, *self._sub_writers.values()):
            if writer is not None:
                writer.flush()
                writer.close()
        self._writer = None
        self._sub_writers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _session_start():
    return SessionLog(status=SessionLog.START)
