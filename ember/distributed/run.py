"""``python -m ember.distributed.run``: start a data-parallel job, with ``torchrun``'s flags, over ``mpiexec``.

    python -m ember.distributed.run --nproc-per-node 2 train.py --epochs 3
    python -m ember.distributed.run --nproc-per-node 4 --hosts node1,node2 -m mypkg.train

One launcher starts every rank on every host (MPI's ``mpiexec`` reaches the other hosts, over ssh
by default): run it once, on the first host. Each rank gets the environment ``torchrun`` sets.
The job exits 0 when every rank did; when one fails, the others raise within their timeout, the
launcher stops whatever is left (after ``--failure-grace`` seconds at most), reports which rank
failed first and why, and exits 1.
"""
import argparse
import os
import sys
import tempfile

from ember.distributed._job import Job, mpiexec_path


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="ranks per host (a number; 'auto'/'cpu' mean one per CPU core)")
    p.add_argument("--nnodes", default="1", help="number of hosts (must match --hosts)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0,
                   help="accepted for torchrun compatibility: the launcher on host 0 starts every host")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true", help="a single-host job on this machine")
    p.add_argument("--hosts", help="comma-separated hosts, one launch of --nproc-per-node ranks on each")
    p.add_argument("--hostfile", help="an MPI host file (one host per line, optionally host:slots)")
    p.add_argument("--iface", help="the network interface MPI's process manager uses between hosts")
    p.add_argument("--failure-grace", type=float, default=5.0,
                   help="seconds the other ranks get to report after the first failure before the job is killed")
    p.add_argument("--mpiexec-arg", action="append", default=[], help="an extra argument for mpiexec (repeatable)")
    p.add_argument("-m", "--module", action="store_true", help="the target is a module, run as with python -m")
    p.add_argument("--no-python", "--no_python", action="store_true", help="run the target as an executable")
    p.add_argument("target")
    p.add_argument("target_args", nargs=argparse.REMAINDER)
    return p.parse_args(argv)


def _nproc(value):
    return os.cpu_count() if value in ("auto", "cpu") else int(value)


def mpiexec_command(args, run_dir):
    nproc = _nproc(args.nproc_per_node)
    hosts = args.hosts.split(",") if args.hosts else None
    nnodes = len(hosts) if hosts else int(str(args.nnodes).split(":")[-1])
    if args.standalone:
        hosts, nnodes = None, 1
    if nnodes > 1 and not (hosts or args.hostfile):
        raise SystemExit("ember.distributed.run: --nnodes > 1 needs --hosts or --hostfile (MPI starts every host "
                         "from this launcher)")
    if args.node_rank != 0:
        raise SystemExit("ember.distributed.run: run the launcher once, on the first host (--node-rank 0): "
                         "it starts the ranks on every host through mpiexec")
    cmd = [mpiexec_path(), "-n", str(nproc * nnodes), "-ppn", str(nproc)]
    if hosts:
        cmd += ["-hosts", ",".join(hosts)]
    if args.hostfile:
        cmd += ["-f", args.hostfile]
    if args.iface:
        cmd += ["-iface", args.iface]
    cmd += args.mpiexec_arg
    target = [args.target] if not args.module else ["-m", args.target]
    if args.no_python:
        return cmd + [args.target, *args.target_args]
    return cmd + [sys.executable, "-m", "ember.distributed._agent", run_dir, args.master_addr,
                  str(args.master_port), str(args.failure_grace), *target, *args.target_args]


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="ember-run-") as run_dir:
        cmd = mpiexec_command(args, run_dir)
        job = Job(cmd, run_dir, int(cmd[cmd.index("-n") + 1]), args.failure_grace)
        try:
            status = job.wait()
        except KeyboardInterrupt:
            return 130
        if status:
            job.report()
        return status


if __name__ == "__main__":
    sys.exit(main())
