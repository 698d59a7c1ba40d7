"""Evaluation: closed loop in the simulator (``closed_loop``) and offline on QA stores
(``offline_qa``), with reports (``report``), videos (``video``), seeds (``seeds``) and interval
statistics (``stats``). See docs/evaluation.md."""
