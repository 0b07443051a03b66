#!/usr/bin/env python3
"""Checks FHIR R4 Bundle JSON files against the R4 structure (fhir.resources 6.4.0).

    python validate_structure.py FILE...

fhir.resources 6.4.0 is the last release modelling R4 (4.0.1); it checks element names,
cardinalities, required elements and primitive formats, not coded values (see
validate_codes.py). Prints one line per valid file; exits 1 at the first invalid one, with
the validator's message.
"""
import json
import sys

from fhir.resources.bundle import Bundle


def main(paths):
    if not paths:
        print("usage: validate_structure.py FILE...", file=sys.stderr)
        return 2
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            bundle = Bundle.parse_obj(data)
        except Exception as error:  # pydantic.ValidationError, json errors, OSError
            print(f"{path}: INVALID\n{error}", file=sys.stderr)
            return 1
        print(f"{path}: valid FHIR R4 structure ({len(bundle.entry or [])} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
