"""The command box (on every page, in base.html) and the history of the user's assistant commands.

Every view is a thin door into assistant.conversation (door "web"): ask, confirm, cancel. htmx posts get the
reply fragment in place; a plain post (no JavaScript) gets a message and the history page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from assistant import conversation
from assistant.models import AssistantRequest
from commands.models import Activity

HISTORY_ROWS = 100


def _reply(request, reply: conversation.Reply):
    if request.htmx:
        response = render(request, "assistant/parts/reply.html", {"reply": reply})
        if reply.kind == conversation.DONE:
            response["HX-Trigger"] = "commandDone"  # lists of positions and orders on the page reload
        return response
    level = {conversation.REFUSED: messages.ERROR, conversation.CONFIRM: messages.WARNING,
             conversation.DONE: messages.SUCCESS}.get(reply.kind, messages.INFO)
    messages.add_message(request, level, reply.text)
    return redirect("assistant:history")


@login_required
@require_POST
def ask(request):
    """A command typed into the box, or a pick from a question's choices: the same request's text again, with
    the account or bot chosen (the resolution checks that it is the user's own)."""
    text = request.POST.get("text", "")
    picks = {}
    asked = request.POST.get("request", "")
    if asked.isdigit():
        earlier = AssistantRequest.objects.for_user(request.user).filter(pk=int(asked)).first()
        if earlier is not None:
            text = earlier.text
            picks = {f"{name}_id": request.POST.get(name) for name in conversation.PICKS if request.POST.get(name)}
    return _reply(request, conversation.ask(request.user, text, door="web", **picks))


@login_required
@require_POST
def confirm(request, pending_id):
    return _reply(request, conversation.confirm(request.user, pending_id, door="web"))


@login_required
@require_POST
def cancel(request, pending_id):
    return _reply(request, conversation.cancel(request.user, pending_id, door="web"))


@login_required
@require_GET
def history(request):
    """The user's assistant requests, newest first, each with its command's outcome (the Activity row)."""
    rows = list(AssistantRequest.objects.for_user(request.user)[:HISTORY_ROWS])
    ids = [int(r.command_ref.split(":")[1]) for r in rows if r.command_ref.startswith("activity:")
           and r.command_ref.split(":")[1].isdigit()]
    activities = Activity.objects.for_user(request.user).in_bulk(ids)
    for row in rows:
        ref = row.command_ref.split(":")[1] if row.command_ref.startswith("activity:") else ""
        row.activity = activities.get(int(ref)) if ref.isdigit() else None
    return render(request, "assistant/history.html", {"rows": rows})
