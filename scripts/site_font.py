"""The reading site's Korean font (tools/site.ts): an @font-face rule, on stdout, for the Korean
characters of the text on stdin, in a subset of NanumGothic made exactly as the exported pages'
own (scripts/run_notebooks.py, KoreanFont), under the family name given as the one argument.

    .venv/bin/python scripts/site_font.py "Site Korean" < text > rule.css

Exit 1, with the reason on stderr, when the font or fontTools is missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_notebooks import EMBEDDED_FAMILY, ExportError, KoreanFont, korean_characters  # noqa: E402


def main():
    family = sys.argv[1]
    characters = korean_characters(sys.stdin.read())
    try:
        rule, missing = KoreanFont().face(characters)
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    if missing:
        print(f"note: {len(missing)} character(s) are not in NanumGothic", file=sys.stderr)
    print(rule.replace(f'"{EMBEDDED_FAMILY}"', f'"{family}"'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
