"""The send step: the plan's ready rows sent, each at most once, and every answer kept.

``sender`` runs the workers and retries over ``api`` (one request, its answer classified) on
``https`` (one aiohttp session); ``slots`` shares the account's 10 requests in flight between
processes; ``journal`` records each request before it goes (``scope`` names the API it went to,
``recovery`` rebuilds a lost journal from the results sheet); ``account`` reads the balance,
``testsend`` is ``--test-to``, and ``interrupts`` turns Ctrl-C and SIGTERM into clean stops.
"""
