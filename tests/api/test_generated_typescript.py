"""TypeScript types generated from the served `/openapi.json` with openapi-typescript, and
type-checked with tsc (both pinned in clients/typescript, installed by `make install`;
the test runs offline): an error answer's `code` narrows to the operation's own codes,
and a code the operation never answers is a type error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "clients" / "typescript" / "node_modules" / ".bin"
CHECK = """
import type { components, operations } from "./schema";

type Conflict = operations["bookAppointment"]["responses"][409]["content"]["application/json"];

export function explain(error: Conflict): string {
  if (error.code === "doctor_unavailable") return "Someone else took the slot.";
  return error.detail;
}

// @ts-expect-error: bookAppointment never answers 409 with last_admin
export const wrong: Conflict["code"] = "last_admin";

type Invalid = operations["bookAppointment"]["responses"][422]["content"]["application/json"];
export const invalid: Invalid = {
  code: "validation_failed",
  detail: [{ loc: ["body", "starts_at"], msg: "Field required", type: "missing" }],
};
export const issue: components["schemas"]["ValidationIssue"] = invalid.detail[0] as never;
"""


def _tools() -> tuple[Path, Path]:
    generator, tsc = TOOLS / "openapi-typescript", TOOLS / "tsc"
    if not (generator.exists() and tsc.exists() and shutil.which("node")):
        if os.environ.get("CI") == "true":
            pytest.fail("openapi-typescript is not installed: `make install` runs npm ci")
        pytest.skip("no node, or clients/typescript not installed (make install with npm)")
    return generator, tsc


def _run(command: list[str], cwd: Path) -> str:
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    output = (run.stdout + run.stderr).strip()
    assert run.returncode == 0, output
    return output


def test_typescript_types_narrow_errors_on_code(
    served_spec: dict[str, Any], tmp_path: Path
) -> None:
    generator, tsc = _tools()
    (tmp_path / "openapi.json").write_text(json.dumps(served_spec))
    output = _run([str(generator), "openapi.json", "-o", "schema.d.ts"], tmp_path)
    assert "warn" not in output.lower(), output
    assert "error" not in output.lower(), output
    (tmp_path / "check.ts").write_text(CHECK)
    strict = ["--noEmit", "--strict", "--target", "es2022", "--module", "esnext"]
    _run([str(tsc), *strict, "--moduleResolution", "bundler", "check.ts"], tmp_path)
