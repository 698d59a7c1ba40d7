"""Judges: ``rules``, ``openai:MODEL`` (any OpenAI-compatible endpoint) and ``local:PATH`` (a local
HF model). Each turns (record, answer) into ``{"score": 0-3 or None, "reply", "tries", "cached"}``.

LLM judges go through :class:`JudgeCache`, a JSON-Lines file keyed by (judge, rubric version,
question, reference, answer): a rerun or a resumed run never asks twice. An unparseable reply is
asked again once with a reminder of the format; if it is still unparseable the score is None
(counted as "unparsed" in the report, never a crash) and that outcome is cached too.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from robotr1_data.errors import UsageError

from . import rubrics, rules

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def cache_key(judge: str, record: dict, answer: str) -> str:
    blob = json.dumps([judge, rubrics.RUBRIC_VERSION, record["type"], record["prompt"], record["reference"], answer],
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """Append-only JSON Lines; the last line of a key wins; a torn last line (a killed run) is ignored."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._data: Dict[str, dict] = {}
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                        self._data[row["key"]] = row
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue

    def get(self, key: str) -> Optional[dict]:
        return self._data.get(key)

    def put(self, key: str, row: dict) -> None:
        row = {"key": key, **row}
        with self._lock:
            self._data[key] = row
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def __len__(self) -> int:
        return len(self._data)


class Judge:
    name = "judge"

    def judge_all(self, items: Sequence[Tuple[dict, str]],
                  progress: Optional[Callable[[int], None]] = None) -> List[dict]:
        raise NotImplementedError


class RulesJudge(Judge):
    name = "rules"

    def judge_all(self, items, progress=None):
        out = []
        for rec, ans in items:
            s, why = rules.score(rec, ans)
            out.append({"score": s, "reply": why, "tries": 1, "cached": False})
        return out


class _LLMJudge(Judge):
    """Cache, one retry on an unparseable reply and bounded concurrency around ``_ask``."""

    def __init__(self, name: str, cache: JudgeCache, concurrency: int):
        self.name, self.cache, self.concurrency = name, cache, max(1, int(concurrency))
        self.requests = 0

    def _ask(self, messages: List[dict]) -> str:
        raise NotImplementedError

    def _one(self, rec: dict, ans: str) -> dict:
        msgs = rubrics.messages(rec, ans)
        reply = self._ask(msgs)
        score, tries = rubrics.parse_score(reply), 1
        if score is None:
            retry = msgs + [{"role": "assistant", "content": reply or ""}, {"role": "user", "content": rubrics.RETRY}]
            second = self._ask(retry)
            tries = 2
            score = rubrics.parse_score(second)
            reply = f"{reply}\n--- retry ---\n{second}"
        return {"score": score, "reply": reply, "tries": tries}

    def judge_all(self, items, progress=None):
        out: List[Optional[dict]] = [None] * len(items)
        todo = []
        for i, (rec, ans) in enumerate(items):
            key = cache_key(self.name, rec, ans)
            hit = self.cache.get(key)
            if hit is not None:
                out[i] = {"score": hit["score"], "reply": hit["reply"], "tries": hit.get("tries", 1), "cached": True}
            else:
                todo.append((i, key, rec, ans))
        done = len(items) - len(todo)

        def work(job):
            i, key, rec, ans = job
            res = self._one(rec, ans)
            self.cache.put(key, {"judge": self.name, "id": rec.get("id"), **res})
            return i, res

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(work, j) for j in todo]
            try:
                for fut in futures:
                    i, res = fut.result()
                    out[i] = {**res, "cached": False}
                    done += 1
                    if progress:
                        progress(done)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return out  # type: ignore[return-value]


class OpenAIJudge(_LLMJudge):
    """Chat completions on any OpenAI-compatible endpoint; the client retries 429/5xx and
    connection errors with exponential backoff (``retries`` times) and times out each request."""

    def __init__(self, model: str, cache: JudgeCache, base_url: str = "", concurrency: int = 4,
                 timeout: float = 60.0, retries: int = 4, api_key: Optional[str] = None):
        try:
            import openai
        except ImportError:
            raise UsageError("the openai judge needs the openai client: pip install -e '.[bench]'") from None
        super().__init__(f"openai:{model}", cache, concurrency)
        self.model, self.timeout, self.retries = model, float(timeout), int(retries)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url == DEFAULT_BASE_URL:
                raise UsageError(f"no API key for {self.base_url}: set OPENAI_API_KEY (or point --judge-base-url "
                                 "at a local server such as `vllm serve`)")
            key = "EMPTY"  # local servers (vllm serve) accept any key unless started with --api-key
        self._openai = openai
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=retries)

    def _fail(self, exc: Exception) -> UsageError:
        o = self._openai
        url = self.base_url
        if isinstance(exc, o.AuthenticationError) or isinstance(exc, o.PermissionDeniedError):
            return UsageError(f"judge endpoint {url} rejected the API key ({type(exc).__name__}); set a valid "
                              "OPENAI_API_KEY; a rerun resumes where this one stopped")
        if isinstance(exc, o.NotFoundError):
            return UsageError(f"judge endpoint {url} does not serve model '{self.model}' (404); pass a served "
                              "model in --judge openai:MODEL (GET {url}/models lists them)")
        if isinstance(exc, o.RateLimitError):
            return UsageError(f"judge endpoint {url} kept rate-limiting (429) after retries; lower --concurrency "
                              "or wait; a rerun resumes where this one stopped")
        if isinstance(exc, o.APITimeoutError):
            return UsageError(f"judge endpoint {url} did not answer within --judge-timeout {self.timeout:g} s "
                              f"(after {self.retries} retries); raise --judge-timeout or lower --concurrency; "
                              "a rerun resumes")
        if isinstance(exc, o.APIConnectionError):
            return UsageError(f"cannot reach judge endpoint {url} ({type(exc).__name__}); start the server "
                              "(e.g. vllm serve MODEL) or fix --judge-base-url / OPENAI_BASE_URL; a rerun resumes")
        return UsageError(f"judge endpoint {url} failed: {type(exc).__name__}: {str(exc)[:200]}; "
                          "a rerun resumes where this one stopped")

    def check(self) -> None:
        """Fail fast (before the model answers anything) on an unreachable endpoint or a bad key."""
        o = self._openai
        try:
            self.client.with_options(max_retries=0).models.list()
        except (o.APIConnectionError, o.APITimeoutError, o.AuthenticationError, o.PermissionDeniedError) as exc:
            raise self._fail(exc) from None
        except o.APIError:
            pass  # some compatible servers have no /models; the first judgement will tell

    def _ask(self, messages):
        o = self._openai
        try:
            self.requests += 1
            resp = self.client.chat.completions.create(model=self.model, messages=messages, temperature=0.0,
                                                       max_tokens=200)
        except o.APIError as exc:
            raise self._fail(exc) from None
        try:
            return resp.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError):
            return ""


class LocalJudge(_LLMJudge):
    """A local Hugging Face model as judge, through the same generation code as eval-qa."""

    def __init__(self, path: str, cache: JudgeCache, device: Optional[str] = None, max_new_tokens: int = 64):
        from robotr1_train.policies.vlm import resolve_checkpoint

        super().__init__(f"local:{os.path.abspath(path)}", cache, 1)
        resolve_checkpoint(path)  # a path without a model fails now, before any answering
        self.path, self.device, self.max_new_tokens = path, device, max_new_tokens
        self.gen = None  # loaded at the first question the cache does not answer

    def _ask(self, messages):
        if self.gen is None:
            from robotr1_train.policies.vlm import VLMGenerator

            self.gen = VLMGenerator.from_run_dir(self.path, device=self.device, max_new_tokens=self.max_new_tokens)
        text = "\n\n".join(m["content"] for m in messages)
        self.requests += 1
        return self.gen.generate([{"prompt": text}], [[]])[0]


def make_judge(spec: str, cache_path: str, base_url: str = "", concurrency: int = 4, timeout: float = 60.0,
               retries: int = 4, device: Optional[str] = None) -> Judge:
    kind, _, arg = spec.partition(":")
    if spec == "rules":
        return RulesJudge()
    if kind == "openai" and arg:
        return OpenAIJudge(arg, JudgeCache(cache_path), base_url, concurrency, timeout, retries)
    if kind == "local" and arg:
        if not os.path.exists(arg):
            raise UsageError(f"local judge model '{arg}' does not exist; pass local:PATH to a saved HF model")
        return LocalJudge(arg, JudgeCache(cache_path), device=device)
    raise UsageError(f"unknown judge '{spec}'; use rules, openai:MODEL (e.g. openai:gpt-4o) or local:PATH")


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)
