"""coprocessor.sdk's public surface: its exported names are pinned, so a change to them is a
deliberate change to this test (as httpx pins its own)."""

from __future__ import annotations

import coprocessor.compiler
import coprocessor.sdk

SDK_EXPORTS = [
    "AsyncClient",
    "Client",
    "Coprocessor",
    "QueryResult",
    "ResultMismatchError",
    "Verification",
    "check_anchor",
    "check_journal",
    "sidecar_path",
]


def test_sdk_exports_exactly_its_public_names():
    assert coprocessor.sdk.__all__ == SDK_EXPORTS
    for name in SDK_EXPORTS:
        assert getattr(coprocessor.sdk, name).__name__ == name


def test_compiler_package_reexports_the_pipeline_and_catalogue():
    exports = [
        "CatalogueQuery",
        "CompileError",
        "CompiledQuery",
        "catalogue",
        "compile",
        "compile_template",
    ]
    assert coprocessor.compiler.__all__ == exports
    for name in exports:
        assert getattr(coprocessor.compiler, name).__name__ == name
