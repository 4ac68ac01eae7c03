"""A view's allowed commands (cached per workflow version and stage) are the
commands its own pinned workflow version allows in its stage."""

from __future__ import annotations

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.views import _commands_in
from workflows import Registry, UnknownWorkflow


def test_every_version_and_stage_gives_its_own_commands_twice() -> None:
    registry = Registry.shipped()
    every = []
    for current in registry.all():
        for version in range(1, current.version + 1):
            try:
                every.append(registry.get(current.name, version))
            except UnknownWorkflow:
                continue
    standard = [wf for wf in every if wf.name == "standard"]
    # Several versions of one workflow allow different commands in a stage of
    # the same name: a cache by stage alone would give one version's to another.
    assert len({wf.commands_in("dispatch") for wf in standard}) > 1
    for _ in range(2):  # the second time from the cache
        for wf in every:
            for stage in wf.stages:
                assert _commands_in(wf, stage) == wf.commands_in(stage), (wf.name, stage)


def test_a_lifecycle_shows_the_pinned_version_s_commands(tmp_path: object) -> None:
    clerk, worker = Actor("clerk-01", "intake_clerk"), Actor("caseworker-li", "caseworker")
    registry = Registry.shipped()
    with PetitionService.open(str(tmp_path) + "/v.sqlite") as svc:  # type: ignore[operator]
        pid = svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="居民"),
                       title="小区停车难", description="车位不足", category="property_management",
                       channel="hotline", location=Location(street="寸滩街道"))
        views = [svc.get(pid), svc.accept(pid, actor=worker),
                 svc.assign(pid, actor=worker, unit="寸滩街道", person="网格员张"),
                 svc.reply(pid, actor=worker, outcome="support", text="已增设车位"),
                 svc.resolve(pid, actor=worker)]
        for view in views:
            wf = registry.get(view.workflow.name, view.workflow.version)
            assert view.allowed_commands == wf.commands_in(view.stage)
        assert len({view.stage for view in views}) >= 3  # more than one stage seen
