"""A real IPython kernel (jupyter_client) with the nbchat extension, and what it sent on IOPub."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from nbchat.server import ServerHandle

TIMEOUT = 60


@dataclass
class Execution:
    """One executed cell: the execute_reply and every IOPub message it caused, in order."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reply["status"] == "ok"

    @property
    def error(self) -> dict[str, Any] | None:
        errors = [m["content"] for m in self.messages if m["msg_type"] == "error"]
        return errors[0] if errors else None

    @property
    def displays(self) -> list[dict[str, Any]]:
        """display_data and update_display_data messages, in order."""
        kinds = ("display_data", "update_display_data")
        return [m for m in self.messages if m["msg_type"] in kinds]

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The cell's outputs as a front end ends up with them (updates applied in place)."""
        outputs: list[dict[str, Any]] = []
        by_id: dict[str, list[int]] = {}
        for message in self.messages:
            kind, content = message["msg_type"], message["content"]
            display_id = content.get("transient", {}).get("display_id")
            if kind == "update_display_data":
                for index in by_id.get(display_id, []):
                    outputs[index] = {"output_type": "display_data", "data": content["data"]}
            elif kind in ("display_data", "execute_result", "stream", "error"):
                if display_id:
                    by_id.setdefault(display_id, []).append(len(outputs))
                outputs.append({"output_type": kind, **content})
            elif kind == "clear_output":
                outputs.clear()
                by_id.clear()
        return outputs

    @property
    def visible(self) -> list[dict[str, Any]]:
        """The outputs a person sees: without the emptied live output of a %%chat cell."""
        return [o for o in self.outputs if o["output_type"] != "display_data" or o["data"]]

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def raw(self) -> str:
        """Everything the kernel sent for this cell, as text (for secret scans)."""
        return json.dumps([self.reply, *self.messages], default=str)


class Kernel:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.km = KernelManager(kernel_name="python3")
        kernel_env = {k: v for k, v in os.environ.items() if not k.startswith("NBCHAT_")}
        kernel_env.update(env or {})
        self.km.start_kernel(env=kernel_env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT)

    def start(self, code: str, **kwargs: Any) -> str:
        return self.kc.execute(code, **kwargs)

    def collect(self, msg_id: str, timeout: float = TIMEOUT) -> Execution:
        messages = []
        while True:
            message = self.kc.get_iopub_msg(timeout=timeout)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(message)
            content = message["content"]
            if message["msg_type"] == "status" and content["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return Execution(reply["content"], messages)

    def run(self, code: str, timeout: float = TIMEOUT, **kwargs: Any) -> Execution:
        return self.collect(self.start(code, **kwargs), timeout)

    def ok(self, code: str) -> Execution:
        execution = self.run(code)
        assert execution.ok, execution.error
        return execution

    def eval(self, expression: str) -> Any:
        """The value of a Python literal expression evaluated in the kernel."""
        execution = self.run("", user_expressions={"v": expression})
        result = execution.reply["user_expressions"]["v"]
        assert result["status"] == "ok", result
        return ast.literal_eval(result["data"]["text/plain"])

    def current(self, attribute: str) -> Any:
        """An attribute of the magics' current Chat, e.g. `target.chat_id`."""
        return self.eval(f"__import__('nbchat.magics').magics.current_chat().{attribute}")

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def connect_line(server: ServerHandle) -> str:
    return f"%chat_connect {server.url} --model demo --user-id user-1"


@pytest.fixture(scope="module")
def module_kernel(server: ServerHandle) -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.ok("%load_ext nbchat")
    yield kernel
    kernel.shutdown()


@pytest.fixture
def kernel(module_kernel: Kernel, server: ServerHandle) -> Kernel:
    """The module's kernel, connected to a fresh conversation on the reference server."""
    module_kernel.ok(connect_line(server))
    return module_kernel


def final_of(execution: Execution) -> dict[str, str]:
    """The mime bundle of the cell's single final output: sanitized HTML and plain text."""
    outputs = [o for o in execution.visible if o["output_type"] == "display_data"]
    assert len(outputs) == 1, execution.outputs
    assert set(outputs[0]["data"]) == {"text/plain", "text/html"}
    return outputs[0]["data"]


def text_of(execution: Execution) -> str:
    """The text/plain of the cell's single final output (the reply as the model wrote it)."""
    return final_of(execution)["text/plain"]


def html_of(execution: Execution) -> str:
    """The text/html of the cell's single final output."""
    return final_of(execution)["text/html"]
