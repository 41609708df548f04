"""DataPipe names of utils.data against torch's: functional registration, DataChunk, the determinism and
runtime-validation switches, argument validation, and a pipe through the DataLoader."""
from collections.abc import Iterator

import pytest
import torch.utils.data as tdata

import ember.utils.data as edata


def _pipes(lib, suffix):
    class Source(lib.IterDataPipe):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    @lib.functional_datapipe(f"scaled_{suffix}")
    class Scaled(lib.IterDataPipe):
        def __init__(self, source, factor=2):
            self.source, self.factor = source, factor

        def __iter__(self):
            return (x * self.factor for x in self.source)

    @lib.functional_datapipe(f"chunks_{suffix}")
    class Chunks(lib.IterDataPipe):
        def __init__(self, source, size):
            self.source, self.size = source, size

        def __iter__(self):
            batch = []
            for x in self.source:
                batch.append(x)
                if len(batch) == self.size:
                    yield lib.DataChunk(batch)
                    batch = []
            if batch:
                yield lib.DataChunk(batch)

    return Source, Scaled, Chunks


def test_functional_chaining_matches_torch():
    results = []
    for lib, suffix in ((edata, "e"), (tdata, "t")):
        source, _, _ = _pipes(lib, suffix)
        pipe = getattr(getattr(source(7), f"scaled_{suffix}")(factor=3), f"chunks_{suffix}")(3)
        chunks = list(pipe)
        assert all(isinstance(c, lib.DataChunk) for c in chunks)
        results.append(([list(c) for c in chunks], [c.as_str("> ") for c in chunks],
                        [list(c.raw_iterator()) for c in chunks], isinstance(pipe, lib.IterableDataset)))
    assert results[0] == results[1]
    assert results[0][0] == [[0, 3, 6], [9, 12, 15], [18]]


def test_a_pipe_feeds_the_dataloader():
    source, _, _ = _pipes(edata, "dl")
    loader = edata.DataLoader(source(5).scaled_dl(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 2], [4, 6], [8]]


def test_registration_errors_match_torch():
    for lib in (edata, tdata):
        plain = type("Plain", (), {})
        assert lib.functional_datapipe(f"plain_{lib.__name__[0]}")(plain) is plain
        assert not hasattr(_pipes(lib, f"p_{lib.__name__[0]}")[0](1), f"plain_{lib.__name__[0]}")
        with pytest.raises(AttributeError):
            _pipes(lib, f"missing_{lib.__name__[0]}")[0](2).no_such_pipe_function  # noqa: B018
    _pipes(edata, "dup")
    with pytest.raises(Exception, match="Unable to add DataPipe function name scaled_dup as it is already taken"):
        _pipes(edata, "dup")


def test_map_datapipe_registers_separately():
    for lib, suffix in ((edata, "me"), (tdata, "mt")):
        class Table(lib.MapDataPipe):
            def __getitem__(self, i):
                return i * 10

            def __len__(self):
                return 3

        @lib.functional_datapipe(f"plus_one_{suffix}")
        class PlusOne(lib.MapDataPipe):
            def __init__(self, source):
                self.source = source

            def __getitem__(self, i):
                return self.source[i] + 1

            def __len__(self):
                return len(self.source)

        pipe = getattr(Table(), f"plus_one_{suffix}")()
        assert [pipe[i] for i in range(len(pipe))] == [1, 11, 21]
        assert not hasattr(lib.IterDataPipe, f"plus_one_{suffix}")


def test_non_deterministic_pipes_under_guaranteed_determinism_match_torch():
    messages = []
    for lib in (edata, tdata):
        @lib.non_deterministic
        class Shuffled(lib.IterDataPipe):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

        @lib.non_deterministic(lambda n: n > 2)
        class Sometimes(lib.IterDataPipe):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

        assert list(Shuffled(2)) == [0, 1]
        with lib.guaranteed_datapipes_determinism():
            with pytest.raises(TypeError) as err:
                Shuffled(2)
            messages.append(str(err.value))
            assert list(Sometimes(2)) == [0, 1]
            with pytest.raises(TypeError):
                Sometimes(3)
        Shuffled(2)
    assert messages[0] == messages[1]


def test_argument_and_runtime_validation():
    class Ints(edata.IterDataPipe[int]):
        def __init__(self, items):
            self.items = items

        @edata.runtime_validation
        def __iter__(self) -> Iterator[int]:
            yield from self.items

    assert list(Ints([1, 2])) == [1, 2]
    with pytest.raises(RuntimeError, match="Expected an instance as subtype of int, but found two"):
        list(Ints([1, "two"]))
    with edata.runtime_validation_disabled():
        assert list(Ints([1, "two"])) == [1, "two"]
    with pytest.raises(RuntimeError):
        list(Ints([1, "two"]))
    for lib in (edata, tdata):  # the messages torch gives without its typing machinery
        @lib.argument_validation
        def consume(dp: lib.IterDataPipe, n: int):
            return list(dp)[:n]

        with pytest.raises(TypeError, match="Expected argument 'dp' as a IterDataPipe, but found <class 'list'>"):
            consume([1, 2], 1)

        def run(self):
            return iter(())

        with pytest.raises(TypeError, match="Can not decorate function run with 'runtime_validation'"):
            lib.runtime_validation(run)
    assert edata.argument_validation(lambda dp, n: list(dp)[:n])(Ints([4, 5, 6]), 2) == [4, 5]
