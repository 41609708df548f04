"""ember.hub on a generated hubconf directory: entrypoints, docstrings, dependency check, loading;
anything that would download raises a clear error."""
import os
import textwrap

import pytest

import ember
import ember.hub as hub

HUBCONF = textwrap.dedent('''
    """A tiny hub."""
    dependencies = ["numpy"]
    from layers import make_linear  # a module of the repository itself


    def tiny(width=3, pretrained=False):
        """A linear layer of the given width."""
        return make_linear(width)


    def _private():
        return None
''')


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "hubconf.py").write_text(HUBCONF)
    (tmp_path / "layers.py").write_text("import ember\n\ndef make_linear(width):\n    return ember.nn.Linear(width, 2)\n")
    return tmp_path


def test_list_help_load_local(repo):
    assert hub.list(str(repo), source="local") == ["tiny"]
    assert hub.help(str(repo), "tiny", source="local") == "A linear layer of the given width."
    model = hub.load(str(repo), "tiny", source="local", width=5)
    assert isinstance(model, ember.nn.Linear) and model.in_features == 5


def test_missing_entrypoint_and_dependencies(repo):
    with pytest.raises(RuntimeError, match="Cannot find callable nothere in hubconf"):
        hub.load(str(repo), "nothere", source="local")
    with pytest.raises(RuntimeError, match="Cannot find callable _private in hubconf"):
        hub.load(str(repo), "_private", source="local")
    (repo / "hubconf.py").write_text(HUBCONF.replace('["numpy"]', '["numpy", "no_such_package_xyz"]'))
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_package_xyz"):
        hub.list(str(repo), source="local")


def test_github_and_urls_never_download(repo, tmp_path):
    with pytest.raises(RuntimeError, match="ember never downloads.*source='local'"):
        hub.load("pytorch/vision", "resnet18")
    with pytest.raises(ValueError, match='Unknown source: "ftp"'):
        hub.list(str(repo), source="ftp")
    with pytest.raises(RuntimeError, match="ember never downloads"):
        hub.download_url_to_file("https://example.com/w.pt", str(tmp_path / "w.pt"))
    with pytest.raises(RuntimeError, match="place the file at"):
        hub.load_state_dict_from_url("https://example.com/weights.pt", model_dir=str(tmp_path / "ck"))


def test_state_dict_from_path_file_url_and_cache(tmp_path):
    sd = ember.nn.Linear(2, 2).state_dict()
    path = tmp_path / "w.pt"
    ember.save(sd, str(path))
    for source in (str(path), path.as_uri()):
        loaded = hub.load_state_dict_from_url(source)
        assert ember.equal(loaded["weight"], sd["weight"])
    hub.download_url_to_file(path.as_uri(), str(tmp_path / "ck" / "weights.pt"))
    cached = hub.load_state_dict_from_url("https://example.com/x/weights.pt", model_dir=str(tmp_path / "ck"))
    assert ember.equal(cached["bias"], sd["bias"])
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.download_url_to_file(str(path), str(tmp_path / "copy.pt"), hash_prefix="0000000")


def test_get_and_set_dir(tmp_path, monkeypatch):
    monkeypatch.setitem(hub._STATE, "dir", None)
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "home"))
    assert hub.get_dir() == os.path.join(str(tmp_path / "home"), "hub")
    hub.set_dir(str(tmp_path / "elsewhere"))
    assert hub.get_dir() == str(tmp_path / "elsewhere")
