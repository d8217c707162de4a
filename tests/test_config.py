"""Config loading: defaults, overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.config import Config, load_config
from sage.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sage.toml"
    path.write_text(body)
    return path


def test_defaults_without_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SAGE_CONFIG", raising=False)
    if Path("/etc/sage/sage.toml").exists():
        pytest.skip("/etc/sage/sage.toml exists on this host and would be read")
    assert load_config() == Config()


def test_overrides(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[paths]
cache_dir = "~/models"
[segmenter]
hangover_ms = 500
max_utterance_s = 10
[llm]
max_tokens = 64
""",
        )
    )
    assert config.segmenter.hangover_ms == 500
    assert config.segmenter.max_utterance_s == 10.0
    assert config.llm.max_tokens == 64
    assert config.paths.cache_dir == Path("~/models").expanduser()


def test_env_var_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAGE_CONFIG", str(write(tmp_path, "[llm]\nmax_tokens = 7\n")))
    assert load_config().llm.max_tokens == 7


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[segmenter]\nframe_ms = 25\n", "segmenter.frame_ms must be 10, 20 or 30"),
        ("[segmenter]\nhangover = 5\n", "unknown key segmenter.hangover"),
        ("[nonsense]\na = 1\n", "unknown key nonsense"),
        ("[llm]\nmax_tokens = 'many'\n", "llm.max_tokens must be int, got str"),
        ("[llm]\nmax_tokens = true\n", "llm.max_tokens must be int, got bool"),
        ("[asr]\nwhisper_beam_size = 0\n", "asr.whisper_beam_size must be >= 1"),
        ("llm = 3\n", r"\[llm\] must be a table"),
        ("[paths]\ncache_dir = 3\n", "paths.cache_dir must be a path string"),
        ("this is = not toml =\n", "not valid TOML"),
        ("[roles.draft]\nctx = 512\n", "unknown key roles.draft.ctx"),
        ("[roles.draft]\nn_ctx = 100\n", "roles.draft.n_ctx must be 0 or >= 256"),
        ("roles = 3\n", r"\[roles\] must be a table"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, body))


def test_the_role_registry_fills_its_defaults_from_llm(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[llm]
n_ctx = 4096
threads = 3
[roles.draft]
model = "tiny"
n_ctx = 512
threads = 1
adapter = "~/draft-lora.gguf"
[roles.base]
model = "/srv/models/my-base.gguf"
fallback = "draft"
"""))  # fmt: skip
    draft, base, other = config.role("draft"), config.role("base"), config.role("tiny")
    assert (draft.model, draft.n_ctx, draft.threads) == ("tiny", 512, 1)
    assert draft.adapter == Path("~/draft-lora.gguf").expanduser()
    assert (base.model, base.n_ctx, base.threads, base.fallback) == (
        "/srv/models/my-base.gguf", 4096, 3, "draft")  # fmt: skip
    assert (other.model, other.n_ctx, other.adapter, other.fallback) == ("tiny", 4096, None, "")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_the_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    example = section[
        section.index("```toml\n") + 8 : section.index("```", section.index("```toml") + 7)
    ]
    config = load_config(write(tmp_path, example))
    assert config.cascade.escalate_low_prob == 0.45
    assert config.remote.url == ""
