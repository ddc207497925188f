"""`hamta-gateway conformance`: scripted scenarios through the built-in SMSC simulator against a
running gateway, a pass/fail table and JUnit XML (docs/conformance.md).

    steps.py           one pydantic model per step kind (send, expect_sms, dial, ...)
    scenarios.py       the YAML file: loader, order checks, `ScenarioFileError`
    runner.py          plays scenarios through a simulator the gateway is bound to
    registry_check.py  `expect_registry`: read a record, compare, explain
    results.py         `ScenarioResult` / `StepResult`
    report.py          the table;  junit.py  the JUnit XML
    command.py         the command: simulator, bind wait, run, outputs, exit code
"""
