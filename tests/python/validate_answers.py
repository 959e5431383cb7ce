"""Checks the server's answers against its OpenAPI document with an independent JSON
Schema implementation (the `jsonschema` package, draft 2020-12, which OpenAPI 3.1 uses),
formats included (`uuid`, `date`, ... as the package checks them).

Used by the Rust end-to-end tests, which collect real answers of a running server:

    python3 validate_answers.py OPENAPI.json ANSWERS.json

ANSWERS.json is a list of {"method", "path", "status", "content_type", "body"}, `path`
being the documented path template. Prints each answer that does not fit its documented
schema and exits 1 if any does not.
"""

import json
import sys

from jsonschema import Draft202012Validator


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        answers = json.load(f)
    failures = []
    for answer in answers:
        where = f'{answer["method"].upper()} {answer["path"]} {answer["status"]}'
        response = document["paths"][answer["path"]][answer["method"]]["responses"].get(
            str(answer["status"])
        )
        if response is None:
            failures.append(f"{where}: status not documented")
            continue
        content = response.get("content", {}).get(answer["content_type"])
        if content is None:
            failures.append(f'{where}: content type {answer["content_type"]} not documented')
            continue
        # The schema as the root of a resource that also holds the document's
        # components, so that "#/components/schemas/..." resolves.
        schema = dict(content["schema"])
        schema["components"] = document.get("components", {})
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for error in validator.iter_errors(answer["body"]):
            path = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{where}: at /{path}: {error.message}")
    for failure in failures:
        print(failure)
    print(json.dumps({"answers": len(answers), "failures": len(failures)}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
