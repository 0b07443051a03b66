#!/usr/bin/env python3
"""Checks FHIR R4 Bundle JSON files with Google's FHIR R4 protos (google-fhir-r4 0.11.0).

    python validate_codes.py FILE...

The protos are generated from the official R4 StructureDefinitions: a coded value outside
a required value set does not parse, and validate_resource checks cardinalities, required
fields and references' types. Prints one line per valid file; exits 1 at the first
invalid one, with the validator's message.
"""
import sys

from google.fhir.r4 import json_format, resource_validation
from google.fhir.r4.proto.core.resources import bundle_and_contained_resource_pb2


def main(paths):
    if not paths:
        print("usage: validate_codes.py FILE...", file=sys.stderr)
        return 2
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
            bundle = json_format.json_fhir_string_to_proto(
                raw, bundle_and_contained_resource_pb2.Bundle, validate=True)
            resource_validation.validate_resource(bundle)
        except Exception as error:  # fhir_errors.InvalidFhirError, OSError, ...
            print(f"{path}: INVALID\n{type(error).__name__}: {error}", file=sys.stderr)
            return 1
        print(f"{path}: valid FHIR R4 codes ({len(bundle.entry)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
