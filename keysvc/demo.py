"""`make demo`: the story keysvc exists for, told by its real programs.

Run as `python -m keysvc.demo [--data-dir var/demo]`. It starts `keysvc serve`
on the embedded default (SQLite, development signing key, Maildir) in a demo
folder of its own, then walks through what happens to customers: two orders
become contracts with their support periods, each contract's first key is
issued for its customer's server, the neo-backup customer moves to a new
server with `keysvc-migrate`, the old key keeps working through the re-issue's
overlap and is then superseded — which the old server learns offline, from the
status list the server publishes — and the e-mail the customer would have
received is shown. The server is stopped at
the end, also on failure or Ctrl-C.

Every step runs the installed console scripts (`keysvc`, `keysvc-migrate`, next
to this interpreter) as subprocesses and prints the command line it ran and its
output, so a newcomer can copy any of them. Nothing of keysvc is imported here:
the demo uses the programs exactly as people do.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
# The console scripts of the virtualenv this interpreter belongs to.
BIN = Path(sys.executable).parent
# Written into the demo folder: only a folder holding it (or an empty one) is wiped.
MARKER = ".keysvc-demo"
# The customers' servers are imaginary; their keys are bound to stand-in fingerprints.
OLD_FINGERPRINT = "fp1:old-server-demo"
# Each product's customer and the folder standing for their server; the neo-backup
# customer is the one who moves to a new server (this machine) later.
FIRST_SERVERS = (
    ("neo-webconf", "fp1:webconf-server-demo", "webconf-server"),
    ("neo-backup", OLD_FINGERPRINT, "old-server"),
)
# Used for the new server only when this machine has no fingerprint of its own.
NEW_FINGERPRINT_FALLBACK = "fp1:new-server-demo"
CUSTOMER = "株式会社サンプル"
CUSTOMER_EMAIL = "it@example.co.jp"
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
RELEASED = "KEY_REQUEST_STATE_RELEASED"
# keysvc-migrate's exit code for a key its status list says no longer works.
_NOT_VALID_EXIT = 6


class DemoFailed(Exception):
    """A step did not do what the story needs; carries what to show the reader."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def shown(path: Path | str) -> str:
    """A path as the reader can type it: relative to the working directory when inside it."""
    path = Path(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def indent(text: str) -> str:
    """Output of a command, set off from the narration."""
    return "".join(f"  {line}\n" for line in text.rstrip("\n").splitlines())


def write_private(path: Path, text: str) -> None:
    """Writes a secret (a token, a license key) to a new file created mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def prepare_folder(folder: Path) -> None:
    """Wipes the previous demo so every run starts fresh, but never a folder it did not make."""
    if folder.exists():
        if any(folder.iterdir()) and not (folder / MARKER).exists():
            raise DemoFailed(
                f"{shown(folder)} exists and is not a demo folder (no {MARKER}): not wiping it",
                "Give another folder with --data-dir, or remove this one yourself.",
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    folder.chmod(0o700)  # a data folder, as keysvc makes its own (docs/persistence.md)
    marker = folder / MARKER
    marker.write_text("made by `python -m keysvc.demo`; its next run wipes it\n")
    marker.chmod(0o600)


class Demo:
    """The demo's state: its folder, the server it started, and how to run a step."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.keysvc = shown(BIN / "keysvc")
        self.migrate = shown(BIN / "keysvc-migrate")
        self.server: subprocess.Popen[bytes] | None = None
        self.step = "0. Prepare the demo folder"
        # The embedded default, whatever the caller's shell exports (a database URL,
        # SMTP, a token): only what the demo sets itself reaches its programs.
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("KEYSVC_")
        }
        # No load balancer in front of the demo's server to drain: it stops at once.
        self.env["KEYSVC_SHUTDOWN_DRAIN_SECONDS"] = "0"
        self.admin_token = folder / "tokens" / "admin.token"
        self.migration_token = folder / "tokens" / "migration.token"

    # -- printing --------------------------------------------------------------------

    def heading(self, number: int, ja: str, en: str) -> None:
        """Starts a step; its title is what a failure names."""
        self.step = f"{number}. {en}"
        print(f"\n━━ {number}. {ja} / {en} ━━", flush=True)

    def say(self, ja: str, en: str) -> None:
        """One narration line in each language."""
        print(f"» {ja}\n  {en}", flush=True)

    # -- running programs ------------------------------------------------------------

    def run(
        self,
        args: Sequence[str],
        *,
        ok: Sequence[int] = (0,),
        echo: bool = True,
        show_stderr: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Shows the command, runs it, shows what it printed; a failure ends the demo."""
        print(f"$ {shlex.join(args)}", flush=True)
        result = self.capture(args)
        if echo and result.stdout.strip():
            print(indent(result.stdout), end="")
        # Warnings and progress lines of the tools are meant for people too.
        if show_stderr and result.stderr.strip() and result.returncode in ok:
            print(indent(result.stderr), end="")
        if result.returncode not in ok:
            raise DemoFailed(
                f"`{shlex.join(args)}` exited with {result.returncode}",
                result.stderr or result.stdout,
            )
        sys.stdout.flush()
        return result

    def capture(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Runs a program to completion without showing anything."""
        try:
            return subprocess.run(  # noqa: S603 - our own console scripts, arguments built here
                list(args),
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            message = f"`{shlex.join(args)}` did not finish in {COMMAND_TIMEOUT:.0f} s"
            raise DemoFailed(message) from error

    def admin(self, *args: str) -> list[str]:
        """A `keysvc admin` command line with the demo's admin token."""
        return [self.keysvc, "admin", *args, "--token-file", shown(self.admin_token)]

    def admin_json(self, *args: str) -> Any:  # noqa: ANN401 - the CLI's JSON document
        """Reads values the story needs (numbers, ids) from `keysvc admin ... --json`, silently."""
        result = self.capture([*self.admin(*args), "--json"])
        if result.returncode != 0:
            raise DemoFailed(f"`keysvc admin {' '.join(args)} --json` failed", result.stdout)
        return json.loads(result.stdout)

    # -- the server ------------------------------------------------------------------

    def start_server(self) -> str:
        """Starts `keysvc serve` on a free port; returns the address its "serving" line names."""
        log_path = self.folder / "server.log"
        # The status lists' address is written into every key: a port of its own, named.
        status = f"127.0.0.1:{_free_port()}"
        args = [self.keysvc, "serve", "--data-dir", shown(self.folder), "--listen", "127.0.0.1:0"]
        args += ["--status-listen", status]
        print(f"$ {shlex.join(args)} 2> {shown(log_path)} &", flush=True)
        with log_path.open("wb") as log:
            # A session of its own: Ctrl-C reaches the demo alone, which then stops the
            # server itself with SIGTERM (a graceful shutdown) in its `finally`.
            self.server = subprocess.Popen(  # noqa: S603 - our own console script
                args,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                record = _log_record(line)
                if record.get("message") == "serving":
                    self._show_server_log(log_path)
                    print(f"  server pid {self.server.pid}", flush=True)
                    return str(record["listen"])
            if self.server.poll() is not None:
                raise DemoFailed(
                    f"keysvc serve exited with {self.server.returncode}",
                    log_path.read_text(encoding="utf-8", errors="replace"),
                )
            time.sleep(0.1)
        raise DemoFailed(f"keysvc serve did not start within {START_TIMEOUT:.0f} s")

    def _show_server_log(self, log_path: Path) -> None:
        """The log lines a newcomer should notice: warnings (the development key) and "serving"."""
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            record = _log_record(line)
            if record.get("level") in {"warning", "error"} or record.get("message") == "serving":
                extra = f" {record['listen']}" if "listen" in record else ""
                print(f"  [{record.get('level')}] {record.get('message')}{extra}")

    def stop_server(self) -> None:
        """SIGTERM, the graceful shutdown; killed only if it does not stop in time."""
        if self.server is None:
            return
        server, self.server = self.server, None
        if server.poll() is None:
            print(f"$ kill -TERM {server.pid}", flush=True)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                print("  (did not stop within 15 s: killed)")
                server.kill()
                server.wait()
        print(f"  server pid {server.pid} stopped (exit code {server.returncode})", flush=True)

    # -- helpers of the story --------------------------------------------------------

    def make_token(self, role: str, description: str, path: Path) -> None:
        """`keysvc tokens create`, its last line (the token) into a 0600 file, never printed."""
        args = [self.keysvc, "tokens", "create", "--role", role]
        args += ["--description", description, "--data-dir", shown(self.folder)]
        # stderr holds the database's start-up log lines: noise here.
        result = self.run(args, echo=False, show_stderr=False)
        *notes, token = result.stdout.strip().splitlines()
        for note in notes:
            print(indent(note.replace("it is shown only once:", "it is shown only once.")), end="")
        write_private(path, token + "\n")
        print(f"  → {shown(path)} (mode 0600; the demo does not show the token)", flush=True)

    def release(self, request_id: str, *, wait: bool) -> bool:
        """Has a key request released now, the way support would; True if `issue-now` did it.

        A request due today is the scheduler's (it releases it within seconds): with
        `wait` the demo waits for that, else the caller's next command does.
        """
        request = self.admin_json("requests", "show", request_id)
        if request["state"] == RELEASED:
            self.say(
                "営業日の 17:00 前の受付なので、すぐに発行されました。",
                "Accepted before 17:00 JST on a business day: released at once.",
            )
            return False
        release_time = datetime.fromisoformat(request["release_time"])
        when = release_time.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST")
        if release_time > datetime.now(UTC):
            self.say(
                f"期日は {request['due_date']}、発行予定は {when}。サポートが今すぐ発行します"
                " (通常は予定時刻にスケジューラーが発行します)。",
                f"Due {request['due_date']}, release scheduled for {when}: support releases it"
                " now; normally the scheduler does at the due time.",
            )
            self.run(self.admin("requests", "issue-now", request_id))
            return True
        self.say(
            "受付は営業日の 17:00 前なので、スケジューラーが数秒以内に発行します。",
            "Accepted before 17:00 JST on a business day: the scheduler releases it in seconds.",
        )
        deadline = time.monotonic() + 30
        while wait and self.admin_json("requests", "show", request_id)["state"] != RELEASED:
            if time.monotonic() > deadline:
                raise DemoFailed(f"key request {request_id} was not released within 30 s")
            time.sleep(0.5)
        return False


def _free_port() -> int:
    """A port free on the loopback interface now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_record(line: str) -> dict[str, Any]:
    """One JSON log line of the server; anything else reads as an empty record."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}


# -- the story, step by step ---------------------------------------------------------


def start(demo: Demo) -> None:
    """Step 1: the server on the embedded default, and the tokens the clients need."""
    demo.heading(1, "サーバーを起動する", "Start the server")
    demo.say(
        f"組み込みの既定構成 (SQLite・開発用署名鍵・Maildir) で {shown(demo.folder)} に"
        "起動します。",
        f"keysvc serve on the embedded default (SQLite, development signing key, Maildir)"
        f" in {shown(demo.folder)}, on a free port.",
    )
    address = demo.start_server()
    demo.env["KEYSVC_ADDRESS"] = address
    demo.say(
        "以降のコマンドは KEYSVC_ADDRESS で接続先を知ります。",
        "The commands below find the server through KEYSVC_ADDRESS:",
    )
    print(f"$ export KEYSVC_ADDRESS={address}")
    demo.run([demo.keysvc, "health", "--address", address])
    demo.say(
        "サポート用 (admin) と移行ツール用 (migration) のトークンを作り、"
        "0600 のファイルに保存します。",
        "Tokens for support (admin) and the migration tool (migration), kept in 0600 files.",
    )
    demo.make_token("admin", "demo: support desk", demo.admin_token)
    demo.make_token("migration", "demo: migration tool", demo.migration_token)


def orders(demo: Demo) -> dict[str, str]:
    """Step 2: an order for each product; returns the contract number per product."""
    demo.heading(2, "注文から契約へ", "Orders become contracts")
    today = datetime.now(TOKYO).date().isoformat()
    numbers: dict[str, str] = {}
    products = [
        ("neo-webconf", 50, "ORDER-1001", "翌々月の1日から", "the 1st of the month after next"),
        ("neo-backup", 25, "ORDER-1002", "翌月の1日から", "the 1st of the next month"),
    ]
    for product, seats, order, rule_ja, rule_en in products:
        demo.say(
            f"{product} の注文 ({seats} ユーザー、購入日 {today})。サポート期間は{rule_ja}1年間、"
            "サポート自体は購入日から受けられます。",
            f"An order for {product} ({seats} seats, bought {today}): its support period runs"
            f" a year from {rule_en}; support covers it from the purchase date.",
        )
        # `create` prints the contract as `contracts show NUMBER` does: not shown twice.
        demo.run(
            demo.admin(
                "contracts", "create", "--product", product, "--customer", CUSTOMER,
                "--email", CUSTOMER_EMAIL, "--seats", str(seats), "--purchase-date", today,
                "--request-id", order,
            )
        )  # fmt: skip
        # The number is computed by the service; the fresh database has one per product.
        listed = demo.admin_json("contracts", "list", "--product", product)["items"]
        numbers[product] = str(listed[-1]["contract_number"])
        demo.run(demo.admin("contracts", "status", numbers[product]))
    return numbers


def first_keys(demo: Demo, numbers: dict[str, str]) -> Path:
    """Step 3: the first key of each contract; returns the neo-backup customer's key file."""
    demo.heading(3, "最初のライセンスキー", "The first keys")
    demo.say(
        "製品サイトは site トークンで SubmitKeyRequest を呼びます。ここでは同じ申請を"
        "サポートが管理 CLI で代行します。キーは各お客様のサーバーの指紋に結び付きます。",
        "The product site would call SubmitKeyRequest with its site token; here support submits"
        " the same INITIAL requests with the admin CLI. Each key is bound to the fingerprint of"
        " its customer's server.",
    )
    key_files: dict[str, Path] = {}
    for order, (product, fingerprint, server) in enumerate(FIRST_SERVERS, start=1):
        number = numbers[product]
        demo.say(
            f"{product} の契約 {number}: サーバーの指紋は {fingerprint}。",
            f"The {product} contract {number}, for the server {fingerprint}:",
        )
        demo.run(
            demo.admin(
                "requests", "submit", number, "--kind", "initial",
                "--fingerprint", fingerprint, "--request-id", f"SITE-REQ-{order}",
            )
        )  # fmt: skip
        listed = demo.admin_json("requests", "list", "--contract", number)["items"]
        request_id = str(listed[-1]["id"])
        demo.release(request_id, wait=True)
        key_file = demo.folder / server / "license.key"
        key = demo.admin_json("requests", "show", request_id)["license_key"]
        write_private(key_file, key + "\n")
        key_files[product] = key_file
    demo.say(
        "どちらの契約にも最初のライセンス (第1世代、有効) があります。",
        "Each contract now has its first license (generation 1, ACTIVE):",
    )
    demo.run(demo.admin("licenses", "list"))
    demo.say(
        "お客様はメールで届いたキーをサーバーに置きます: "
        + ", ".join(shown(path) for path in key_files.values()),
        "The customers put the keys from the e-mails on their servers: "
        + ", ".join(shown(path) for path in key_files.values()),
    )
    return key_files["neo-backup"]


def move(demo: Demo, number: str, old_key: Path) -> tuple[str, Path]:
    """Step 4: keysvc-migrate on the new server; returns the re-issue's id and the JWKS file."""
    demo.heading(4, "新サーバーへの移行", "Moving to a new server")
    token = ["--token-file", shown(demo.migration_token)]
    jwks = demo.folder / "jwks.json"
    state = ["--state-file", shown(demo.folder / "keysvc-migrate.json")]
    new_key = demo.folder / "new-server" / "license.key"
    new_key.parent.mkdir()
    demo.say(
        "新サーバー (このマシン) で、まず自分の指紋を確かめます。",
        "On the new server (this machine), the tool first names it: its fingerprint.",
    )
    result = demo.run([demo.migrate, "fingerprint", "--explain"], ok=(0, 2))
    fingerprint: list[str] = []
    if result.returncode != 0:
        # A container may have no machine-id, DMI UUID or physical NIC: stand in for one.
        demo.say(
            f"このマシンには指紋がないので、{NEW_FINGERPRINT_FALLBACK} を使います。",
            f"This machine has no fingerprint; the demo uses {NEW_FINGERPRINT_FALLBACK} instead.",
        )
        fingerprint = ["--fingerprint", NEW_FINGERPRINT_FALLBACK]
    demo.say(
        "公開鍵 (JWKS) を保存します。あとでオフライン検証に使います。",
        "Save the published keys (JWKS), for verifying offline later.",
    )
    demo.run([demo.migrate, "jwks", "--output", shown(jwks), *token])
    demo.say(
        "旧キーを所有の証明にして、再発行を申請します。いつ届くかが日本語で表示されます。",
        "Ask for a re-issue, proving possession of the old key; the schedule is in Japanese.",
    )
    demo.run(
        [
            demo.migrate, "request", "--contract", number, "--old-key", shown(old_key),
            "--email", CUSTOMER_EMAIL, *fingerprint, *state, *token,
        ]
    )  # fmt: skip
    # The tool notes its key request in the state file (docs/migrate.md, "The state file").
    request_id = str(json.loads(Path(state[1]).read_text(encoding="utf-8"))["key_request_id"])
    demo.release(request_id, wait=False)
    demo.run([demo.migrate, "wait", "--timeout", "30", *state, *token])
    demo.say(
        "キーを確認してから、アトミックに 0600 で書き込みます。",
        "Install the key: checked first, then written atomically, mode 0600.",
    )
    demo.run([demo.migrate, "install", "--key-file", shown(new_key), *state, *token])
    demo.say(
        "ネットワークなしで検証します (製品と同じく、JWKS ファイルだけで)。",
        "Verify it offline, as the product does: the JWKS file, no network.",
    )
    verify = [demo.migrate, "verify", "--key-file", shown(new_key), "--jwks", shown(jwks)]
    demo.run([*verify, *fingerprint])
    return request_id, jwks


def superseded(demo: Demo, number: str, old_key: Path, jwks: Path) -> None:
    """Step 5: the old key works during the re-issue's overlap, then is SUPERSEDED, and the
    old server learns it offline from the status list."""
    demo.heading(
        5, "旧キーは移行期間の後に置き換え済み", "The old key, superseded after the overlap"
    )
    demo.say(
        "サポートが旧キーを確認すると、SUPERSEDED (置き換え済み) ですが、移行期間中は"
        "引き続き使えると報告されます。",
        "Support checks the old key with keysvc: SUPERSEDED, yet working until the re-issue's"
        " overlap ends.",
    )
    demo.run(demo.admin("licenses", "verify", shown(old_key)))
    verified = demo.admin_json("licenses", "verify", shown(old_key))
    if verified["license_status"] != "LICENSE_STATUS_SUPERSEDED":
        raise DemoFailed(f"the old key is {verified['license_status']}, not SUPERSEDED")
    serial = str(verified["license_serial"])
    demo.run(demo.admin("licenses", "list", "--contract", number))
    check = [
        demo.migrate, "verify", "--key-file", shown(old_key), "--jwks", shown(jwks),
        "--fingerprint", OLD_FINGERPRINT,
    ]  # fmt: skip
    demo.say(
        "旧サーバーの製品は、キーに記載された失効リスト (status list) で状態を確かめます。"
        "移行期間中なので有効 (VALID) です。",
        "The old server's product checks the key's entry in the status list named in the key:"
        " VALID, as the overlap has not ended.",
    )
    _wait_for_status(demo, check, exit_code=0)
    demo.run([*check, "--status"])
    demo.say(
        "旧サーバーの停止を確認したサポートが、移行期間を今すぐ終了します (記録に残ります)。",
        "Support, having seen the old server shut down, ends the overlap now (audited).",
    )
    demo.run(demo.admin("licenses", "end-overlap", serial, "--reason", "旧サーバーの停止を確認"))
    saved = demo.folder / "old-server" / "status-list.jwt"
    demo.say(
        "数秒で失効リストが更新されます。ネットワークのある端末でリストを保存し、"
        "旧サーバーへ持ち込めば、ネットワークなしでも置き換え済みとわかります。",
        "The list is published again within seconds. Saved where there is a network and"
        " carried to the old server, it tells the product offline that the key is superseded.",
    )
    _wait_for_status(demo, check, exit_code=_NOT_VALID_EXIT)
    demo.run(
        [
            demo.migrate, "status", "--key-file", shown(old_key), "--jwks", shown(jwks),
            "--output", shown(saved),
        ],
        ok=(_NOT_VALID_EXIT,),
    )  # fmt: skip
    demo.run([*check, "--status-list", shown(saved)], ok=(_NOT_VALID_EXIT,))


def _wait_for_status(demo: Demo, check: list[str], *, exit_code: int) -> None:
    """Until `verify --status` exits with `exit_code`: the server publishes a new or
    changed list within seconds (docs/status-lists.md)."""
    deadline = time.monotonic() + 60
    while (result := demo.capture([*check, "--status"])).returncode != exit_code:
        if time.monotonic() > deadline:
            raise DemoFailed(
                f"the status list did not give exit code {exit_code} within 60 s",
                result.stderr or result.stdout,
            )
        time.sleep(1)


def mail(demo: Demo, request_id: str) -> None:
    """Step 6: the re-issue's e-mail, as written to the Maildir instead of sent."""
    demo.heading(6, "お客様に届くメール", "The e-mail to the customer")
    maildir = demo.folder / "mail"
    demo.say(
        f"既定では、メールは送信せずに Maildir {shown(maildir)}/ に書き込まれます。",
        f"On the embedded default, e-mail is written to the Maildir {shown(maildir)}/, not sent.",
    )
    path, message = _wait_for_mail(maildir, request_id)
    print(f"  {shown(path)}, read with Python's email package:")
    for header in ("From", "To", "Subject", "Date", "X-Keysvc-Request-Id"):
        print(f"  {header}: {message[header]}")
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    print(f"\n{indent(text)}", end="", flush=True)


def _wait_for_mail(maildir: Path, request_id: str) -> tuple[Path, EmailMessage]:
    """The message for a key request; the outbox sender delivers it within seconds."""
    parser = BytesParser(policy=policy.default)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        newest_first = sorted(maildir.glob("*/keysvc.*"), key=lambda p: p.stat().st_mtime)[::-1]
        for path in newest_first:
            message = parser.parsebytes(path.read_bytes())
            if message["X-Keysvc-Request-Id"] == request_id:
                return path, message
        time.sleep(0.5)
    raise DemoFailed(f"no e-mail for {request_id} in {shown(maildir)} within 30 s")


def tell(demo: Demo) -> None:
    """Steps 1-6: the whole story against a running server."""
    start(demo)
    numbers = orders(demo)
    old_key = first_keys(demo, numbers)
    request_id, jwks = move(demo, numbers["neo-backup"], old_key)
    superseded(demo, numbers["neo-backup"], old_key, jwks)
    mail(demo, request_id)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    """SIGTERM to the demo (a CI timeout, `kill`) unwinds like Ctrl-C, so the server is stopped."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the demo; 0 when the whole story was told, 1 when a step failed."""
    parser = argparse.ArgumentParser(
        prog="python -m keysvc.demo",
        description="Walk through keysvc with its real programs, on a server of its own.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/demo"),
        help="demo folder, wiped at start (default var/demo; only a former demo folder is wiped)",
    )
    options = parser.parse_args(argv)
    demo = Demo(options.data_dir)
    signal.signal(signal.SIGTERM, _terminate)
    status = 0
    try:
        prepare_folder(options.data_dir)
        tell(demo)
    except DemoFailed as failure:
        print(f"\ndemo failed at step {demo.step}: {failure.message}", file=sys.stderr)
        if failure.detail:
            print(indent(failure.detail), end="", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        status = 130
    finally:
        # Always, also on failure, Ctrl-C or SIGTERM: no server is left behind.
        if demo.server is not None:
            print("\n━━ 7. サーバーを停止する / Stop the server ━━", flush=True)
            demo.stop_server()
            print(f"  demo folder: {shown(demo.folder)} (database, keys, mail, tokens, server.log)")
    return status


if __name__ == "__main__":
    sys.exit(main())
