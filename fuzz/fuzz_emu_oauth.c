/*
 * Fuzz the emulator's OAuth token endpoint logic: "Authorization header\n" then the form
 * body; and the bearer check. Tokens issued are freed each run.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "emulator/emu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct emu E;
    static struct emu_faults F;
    static char *grants[] = {"main.default.*"};
    static struct emu_client client = {"cid", "secret", grants, 1};
    if (E.faults == NULL) {
        pthread_mutex_init(&E.auth_lock, NULL);
        pthread_mutex_init(&E.cat_lock, NULL);
        emu_faults_init(&F);
        E.faults = &F;
        E.clients = &client;
        E.nclients = 1;
        E.catalog_lists_clients = true;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = strchr(text, '\n');
    const char *basic = nl ? text : NULL;
    const char *form = nl ? nl + 1 : text;
    if (nl)
        *nl = '\0';
    char *body = NULL;
    int status = emu_auth_token(&E, basic, form, &body);
    if (body == NULL || status < 200 || status > 599)
        abort();
    if (status == 200) {
        json_error_t je;
        json_t *j = json_loads(body, 0, &je);
        const char *tok = json_string_value(json_object_get(j, "access_token"));
        char auth[200], msg[300];
        snprintf(auth, sizeof auth, "Bearer %s", tok ? tok : "");
        if (tok == NULL || emu_auth_check(&E, auth, NULL, msg, sizeof msg) != EMU_OK)
            abort();
        json_decref(j);
    }
    free(body);
    emu_auth_free(&E);
    free(text);
    return 0;
}
