"""The shell recipe in docs/key-format.md verifies keys with openssl alone, as documented."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "key-format.md"
MARKER = "<!-- openssl-recipe"


def recipe():
    text = DOC.read_text(encoding="utf-8")
    match = re.search(re.escape(MARKER) + r".*?-->\n```bash\n(.*?)```", text, re.DOTALL)
    assert match, "docs/key-format.md lost its marked openssl recipe"
    return match.group(1)


@pytest.fixture(scope="module")
def bash():
    path = shutil.which("bash")
    if path is None:
        pytest.skip("bash is not installed")
    return path


def run(bash, tmp_path, key_text, x):
    (tmp_path / "license.txt").write_text(key_text, encoding="ascii")
    script = re.sub(r"^x=\S+", f"x={x}", recipe(), count=1, flags=re.MULTILINE)
    return subprocess.run(
        [bash, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_recipe_uses_the_vector_key(keypair):
    assert f"x={keypair['public_jwk']['x']}" in recipe()


def test_recipe_verifies_a_wrapped_vector_key(bash, openssl, tmp_path, keypair, typical_vector):
    result = run(bash, tmp_path, typical_vector["key_wrapped"], keypair["public_jwk"]["x"])
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout
    assert '"typ":"license+jwt"' in result.stdout
    assert (tmp_path / "pub.pem").read_text() == keypair["public_key_pem"]


def test_recipe_rejects_a_key_with_a_changed_signature(
    bash, openssl, tmp_path, keypair, typical_vector
):
    key = typical_vector["key"]
    changed = key[:-3] + ("A" if key[-3] != "A" else "B") + key[-2:]
    result = run(bash, tmp_path, changed, keypair["public_jwk"]["x"])
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout


def test_recipe_rejects_a_key_under_another_public_key(
    bash, openssl, tmp_path, keypair, typical_vector
):
    result = run(bash, tmp_path, typical_vector["key"], keypair["untrusted"]["public_jwk"]["x"])
    assert result.returncode != 0
