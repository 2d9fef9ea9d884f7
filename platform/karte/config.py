"""Settings from the environment (SPEC §9), resolved once."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from karte.problems import Problem, ProblemsError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_UPLOAD_MB = 20


def default_pack() -> Path:
    """The repository root is the standard pack."""
    return REPO_ROOT


def instance_dir() -> Path:
    path = Path(os.environ.get("KARTE_INSTANCE", REPO_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_upload_mb() -> int:
    """KARTE_MAX_UPLOAD_MB: megabytes (1,048,576 bytes) any request body may have."""
    raw = os.environ.get("KARTE_MAX_UPLOAD_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_UPLOAD_MB
    if not raw.isascii() or not raw.isdecimal() or len(raw) > 6 or int(raw) < 1:
        raise ProblemsError([Problem("KARTE_MAX_UPLOAD_MB", f'"{raw}" is not a whole number '
                                                            "of megabytes above 0")])
    return int(raw)


@dataclass(frozen=True)
class Settings:
    pack: Path
    database_url: str
    instance: Path
    locale: str | None
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    files_url: str | None = None
    """KARTE_FILES_URL: where uploaded files are kept — a folder (default
    `<instance>/files`) or `s3://bucket/prefix` (karte.files.storage.storage_for)."""

    @classmethod
    def from_env(cls, pack: str | Path | None = None) -> Settings:
        instance = instance_dir()
        url = os.environ.get("KARTE_DATABASE_URL") or f"sqlite:///{instance / 'karte.db'}"
        return cls(
            pack=Path(pack or os.environ.get("KARTE_PACK") or default_pack()).resolve(),
            database_url=url,
            instance=instance,
            locale=os.environ.get("KARTE_LOCALE") or None,
            max_upload_mb=max_upload_mb(),
            files_url=os.environ.get("KARTE_FILES_URL", "").strip() or None,
        )

    def secret_key(self) -> str:
        """KARTE_SECRET_KEY, or a key generated into the instance folder on first run."""
        if os.environ.get("KARTE_SECRET_KEY"):
            return os.environ["KARTE_SECRET_KEY"]
        path = self.instance / "secret_key"
        if not path.exists():  # written whole, then linked: processes starting together
            draft = path.with_name(f"secret_key.{os.getpid()}")  # all read the same key
            draft.write_text(secrets.token_hex(32), encoding="utf-8")
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text(encoding="utf-8").strip()
