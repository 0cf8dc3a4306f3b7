"""The Dagster webserver's GraphQL API, as the UI uses it: launch, re-execute, cancel
and watch runs, read their events and the assets' latest metadata."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

LAUNCH_RESULT = """
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
"""
RUN_FIELDS = """
    runId status jobName startTime endTime
    tags { key value }
    stepStats { stepKey status }
"""


class Dagster:
    """The Dagster webserver's GraphQL API, as the UI uses it."""

    def __init__(self, url: str, location: str = "fx_assets") -> None:
        self.url = f"{url}/graphql"
        self.location = location
        self.http = httpx.Client(timeout=30)

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        resp = self.http.post(self.url, json={"query": query, "variables": variables})
        if resp.status_code != 200:
            message = f"GraphQL {resp.status_code}: {resp.text[:2000]}"
            raise httpx.HTTPStatusError(message, request=resp.request, response=resp)
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def patient_query(self, query: str, timeout: float = 60, **variables: Any) -> dict[str, Any]:
        """A query that outlives a brief database outage: retried on server errors."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.query(query, **variables)
            except (httpx.HTTPError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def wait_loaded(self, timeout: float = 180) -> None:
        q = """{ workspaceOrError { ... on Workspace { locationEntries {
                name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
            } } } }"""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                entries = self.query(q)["workspaceOrError"]["locationEntries"]
                last = entries
                for e in entries:
                    if (
                        e["name"] == self.location
                        and e["loadStatus"] == "LOADED"
                        and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                    ):
                        return
            time.sleep(1)
        raise AssertionError(f"code location {self.location} not loaded: {last}")

    def launch(
        self, job: str, tags: dict[str, str] | None = None, run_config: dict[str, Any] | None = None
    ) -> str:
        result = self.launch_result(job, tags, run_config)
        assert result["__typename"] == "LaunchRunSuccess", result
        return str(result["run"]["runId"])

    def launch_result(
        self, job: str, tags: dict[str, str] | None = None, run_config: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """launchRun's answer as it is: a success, or why the launch was refused."""
        q = f"""mutation($p: ExecutionParams!) {{ launchRun(executionParams: $p) {{
            {LAUNCH_RESULT} }} }}"""
        tag_list = [{"key": k, "value": v} for k, v in (tags or {}).items()]
        params = {
            "selector": {
                "repositoryLocationName": self.location,
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "runConfigData": run_config or {},
            "executionMetadata": {"tags": tag_list},
        }
        return dict(self.query(q, p=params)["launchRun"])

    def stop_automation(self) -> list[str]:
        """Stop every running sensor and schedule of the location (as a person would in
        the UI's Automation page), so that only what a test launches runs; their names."""
        repo = {"repositoryLocationName": self.location, "repositoryName": "__repository__"}
        q = """query($r: RepositorySelector!) {
            sensorsOrError(repositorySelector: $r) { ... on Sensors { results {
                name sensorState { id status } } } }
            schedulesOrError(repositorySelector: $r) { ... on Schedules { results {
                name scheduleState { id status } } } } }"""
        found = self.query(q, r=repo)
        stopped = []
        for kind, state, mutation in (
            ("sensorsOrError", "sensorState", "stopSensor"),
            ("schedulesOrError", "scheduleState", "stopRunningSchedule"),
        ):
            for item in found[kind]["results"]:
                if item[state]["status"] != "RUNNING":
                    continue
                m = f"""mutation($id: String!) {{ {mutation}(id: $id) {{ __typename
                    ... on PythonError {{ message }} }} }}"""
                result = self.query(m, id=item[state]["id"])[mutation]
                assert result["__typename"] != "PythonError", result
                stopped.append(item["name"])
        return stopped

    def partition_keys(self, asset: str) -> list[str]:
        """The asset's partition keys as the instance knows them (dynamic ones included)."""
        q = """query($k: AssetKeyInput!) { assetNodeOrError(assetKey: $k) {
            __typename ... on AssetNode { partitionKeys } } }"""
        node = self.query(q, k={"path": [asset]})["assetNodeOrError"]
        return list(node.get("partitionKeys") or [])

    def wait_pairs(self, pairs: list[str], timeout: float = 120) -> None:
        """Until the bootstrap sensor's first tick has made ``pairs`` partitions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(pairs) <= set(self.partition_keys("fx_final")):
                return
            time.sleep(2)
        raise AssertionError(f"the pairs {pairs} never became partitions")

    def reexecute(self, run_id: str, strategy: str = "FROM_FAILURE") -> str:
        q = f"""mutation($p: ReexecutionParams!) {{ launchRunReexecution(reexecutionParams: $p) {{
            {LAUNCH_RESULT} }} }}"""
        result = self.query(q, p={"parentRunId": run_id, "strategy": strategy})
        result = result["launchRunReexecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return str(result["run"]["runId"])

    def terminate(self, run_id: str, timeout: float = 60) -> None:
        """Ask Dagster to cancel a run. A run the daemon is just handing to the launcher
        (STARTING) cannot be terminated yet, so that state is waited out, not failed on."""
        q = """mutation($id: String!) { terminateRun(runId: $id) { __typename
            ... on TerminateRunFailure { message } ... on Error { message } } }"""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(q, id=run_id)["terminateRun"]
            if result["__typename"] == "TerminateRunSuccess":
                return
            starting = "status STARTING" in str(result.get("message"))
            assert starting and time.monotonic() < deadline, result
            time.sleep(0.5)

    def run(self, run_id: str) -> dict[str, Any]:
        q = f"""query($id: ID!) {{ runOrError(runId: $id) {{ __typename
            ... on Run {{ {RUN_FIELDS} }} ... on Error {{ message }} }} }}"""
        run = self.patient_query(q, id=run_id)["runOrError"]
        assert run["__typename"] == "Run", run
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return run

    def runs(self, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
        q = f"""query($f: RunsFilter) {{ runsOrError(filter: $f) {{
            ... on Runs {{ results {{ {RUN_FIELDS} }} }} }} }}"""
        flt = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        out = self.patient_query(q, f=flt)["runsOrError"]["results"]
        for run in out:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return out

    def wait(self, run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["status"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['status']} after {timeout:.0f} s")
            time.sleep(1)

    def events(self, run_id: str) -> list[dict[str, Any]]:
        q = """query($id: ID!) { logsForRun(runId: $id, limit: 5000) {
            ... on EventConnection { events { __typename
                ... on MessageEvent { message stepKey }
                ... on ExecutionStepFailureEvent { error { message causes { message } } }
                ... on RunFailureEvent { runError: error { message causes { message } } }
                ... on EngineEvent { engineError: error { message causes { message } } }
            } } } }"""
        return list(self.patient_query(q, id=run_id)["logsForRun"]["events"])

    def errors(self, run_id: str) -> str:
        """The step failures of a run, causes included, as one text."""
        out = []
        for e in self.events(run_id):
            error = e.get("error") or e.get("runError") or e.get("engineError")
            if error:
                out.append(error["message"])
                out.extend(c["message"] for c in error["causes"])
            elif e["__typename"] == "RunFailureEvent":
                out.append(e["message"])
        return "\n".join(out)

    def latest_materialization(self, asset: str) -> dict[str, Any]:
        q = """query($k: AssetKeyInput!) { assetOrError(assetKey: $k) { ... on Asset {
            assetMaterializations(limit: 1) { runId metadataEntries { label
                ... on TextMetadataEntry { text } } } } } }"""
        found = self.query(q, k={"path": [asset]})["assetOrError"]["assetMaterializations"]
        assert found, f"{asset} was never materialized"
        m = found[0]
        return {"runId": m["runId"], **{e["label"]: e.get("text") for e in m["metadataEntries"]}}
