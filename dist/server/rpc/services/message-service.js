import { changeMethods } from "./messages/changes.js";
import { historyMethods } from "./messages/history.js";
import { readMethods } from "./messages/read.js";
import { sendMethods } from "./messages/send.js";
/** Creates the MessageService implementation from its parts (messages/). */
export function createMessageService(deps) {
    return {
        ...sendMethods(deps),
        ...changeMethods(deps),
        ...historyMethods(deps),
        ...readMethods(deps),
    };
}
//# sourceMappingURL=message-service.js.map