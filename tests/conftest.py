import sys
from pathlib import Path

# Test helpers (reference models, random layouts) live beside the tests and import by name.
sys.path.insert(0, str(Path(__file__).parent))
