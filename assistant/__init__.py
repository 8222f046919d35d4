"""The trading assistant: natural-language commands (English, Thai) understood offline or by an LLM.

It only proposes: a parse is resolved against the user's accounts, markets and bots, and
assistant.conversation hands it to the command service, which validates, checks risk, confirms and executes.
"""
