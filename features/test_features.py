"""Run every Gherkin specification in features/ as part of the test suite."""

from pytest_bdd import scenarios

scenarios(".")
