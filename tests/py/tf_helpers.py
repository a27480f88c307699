"""Terraform for the black-box suite: the AWS provider 5.100 from the filesystem mirror that
comes with the machine (/opt/tf-plugins, or BERTH_TF_PLUGINS), run against berth. The
`terraform` fixture lives in conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGINS = Path(os.environ.get("BERTH_TF_PLUGINS", "/opt/tf-plugins"))
PROVIDER = PLUGINS / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0"


def find_terraform() -> str:
    """The terraform binary; fails in CI and skips loudly elsewhere when it or the provider is
    missing."""
    binary = shutil.which("terraform")
    missing = None
    if not binary:
        missing = "terraform is not on PATH"
    elif not PROVIDER.is_dir():
        missing = f"the AWS provider 5.100.0 is not in the mirror {PLUGINS}"
    if missing:
        msg = f"{missing}: the Terraform tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(msg)
        print(f"\n!!! SKIPPING: {msg} !!!\n", file=sys.stderr)
        pytest.skip(msg)
    return binary


def run(terraform: str, workdir: Path, *args: str, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess:
    cli_config = workdir / "terraformrc"
    cli_config.write_text(textwrap.dedent(f"""
        provider_installation {{
          filesystem_mirror {{
            path    = "{PLUGINS}"
            include = ["registry.terraform.io/hashicorp/*"]
          }}
          direct {{
            exclude = ["registry.terraform.io/hashicorp/*"]
          }}
        }}
        """))
    env = dict(os.environ, TF_CLI_CONFIG_FILE=str(cli_config), TF_IN_AUTOMATION="1",
               CHECKPOINT_DISABLE="1", AWS_EC2_METADATA_DISABLED="true")
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([terraform, *args, "-no-color"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(f"terraform {' '.join(args)} failed ({done.returncode}):\n"
                    f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}")
    return done
