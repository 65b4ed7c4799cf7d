"""The checks of an example's tools, tool calls and tool answers (a part of `inspection.Inspection`)."""

import json

from django.utils.translation import gettext as _


class ToolChecks:
    """Mixed into `Inspection`, whose `error` and `warning` note what they find."""

    def error(self, code: str, message: str, index: int | None = None) -> None:
        raise NotImplementedError

    def warning(self, code: str, message: str, index: int | None = None) -> None:
        raise NotImplementedError

    def _check_tools(self, tools: object) -> set[str] | None:
        """The function names the example declares; None when it declares none."""
        if tools is None:
            return None
        if not isinstance(tools, list):
            self.error("bad_tools", _("“tools” must be a list of function definitions."))
            return None
        names = set()
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(name, str) or not name:
                self.error("bad_tools", _("Each tool must be {“type”: “function”, “function”: {“name”: …}}."))
                return None
            names.add(name)
        return names

    def _check_tool_calls(
        self, calls: object, index: int, tool_names: set[str] | None, pending: dict[str, str], answered: set[str]
    ) -> None:
        if not isinstance(calls, list) or not calls:
            self.error("bad_tool_call", _("“tool_calls” must be a non-empty list."), index)
            return
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(function, dict):
                message = _("A tool call must be {“id”, “type”: “function”, “function”: {“name”, “arguments”}}.")
                self.error("bad_tool_call", message, index)
                continue
            call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
            if not isinstance(call_id, str) or not call_id:
                self.error("bad_tool_call", _("A tool call has no “id”."), index)
            elif call_id in pending or call_id in answered:
                self.error("bad_tool_call", _("Tool call id %(id)s is used twice.") % {"id": call_id}, index)
            if not isinstance(name, str) or not name:
                self.error("bad_tool_call", _("A tool call has no function name."), index)
            elif tool_names is not None and name not in tool_names:
                message = _("The tool call uses function %(name)s, which the example's tools do not define.")
                self.warning("unknown_tool", message % {"name": name}, index)
            if not _is_json_text(arguments):
                message = _("The arguments of tool call %(name)s must be a JSON text.") % {"name": name}
                self.error("bad_tool_arguments", message, index)
            if isinstance(call_id, str) and call_id:
                pending[call_id] = name if isinstance(name, str) else ""

    def _check_tool_answer(self, call_id: object, index: int, pending: dict[str, str], answered: set[str]) -> None:
        if not isinstance(call_id, str) or not call_id:
            self.error("missing_tool_call_id", _("A tool message needs the “tool_call_id” it answers."), index)
        elif call_id in pending:
            del pending[call_id]
            answered.add(call_id)
        else:
            message = _("This tool message answers %(id)s, but no earlier assistant message made that call.")
            self.error("unmatched_tool_call", message % {"id": call_id}, index)


def _is_json_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
