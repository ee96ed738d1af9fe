"""DSW notebook governance: the native idle culler everywhere, one warning, quiet hours, savings.

Same shape as ``training``: pure reading of the policy (``policy``), of the API's answers
(``views``) and the decisions with their reasons (``decide``); the ledger state (``state``); the
DSW calls (``dsw``); the use cases — one governor tick (``tick``, called by
``functions/dsw_governor.py`` and ``pai-autopilot notebooks plan``), a snooze (``snooze``), the
signed snooze links (``links``) and the savings report (``report``); the warning and the stop notice
(``notices``) are delivered at least once, deduplicated (``delivery``).
"""
