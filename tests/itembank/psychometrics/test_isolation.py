"""The psychometrics package stays a pure library (architecture rule)."""

import subprocess
import sys


def test_no_flask_or_examsvc_import():
    code = ("import sys, itembank.psychometrics; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'examsvc')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
