"""The plan step: every contact row with its number, its text and what is to happen to it.

``rows`` builds the plan (``prepare``) over ``phones`` (readings and number types;
``phones_quick`` answers as phonenumbers does, faster), ``render`` (the templates) and
``characters`` (GSM-7, segments, what forces UCS-2); ``suppression`` and ``optout`` read numbers
never to text; ``windows`` says when each recipient may be texted and ``schedule`` applies that to
the plan and the run; ``estimate`` is what the plan costs.
"""
