/*
 * Fuzz the emulator's descriptor check and record decoder. Byte 0 picks the mode:
 *   even: the rest is one protobuf record of the all-types table (golden descriptor);
 *   odd:  the rest is a DescriptorProto, checked against the all-types table and then
 *         used for an auto-created table.
 * Every failure must come with a message; nothing may crash or leak.
 */
#include "zs_fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "emulator/emu.h"
#include "google/protobuf/descriptor.pb-c.h"

static struct emu E;
static struct emu_table *all, *autot;
static struct emu_desc *desc;

static void init(void)
{
    pthread_mutex_init(&E.cat_lock, NULL);
    E.cfg.auto_create = true;
    /* Columns of the all-types table, from the test configuration. */
    json_error_t je;
    json_t *cfg = json_load_file(ZS_FUZZ_CONFIG, 0, &je);
    json_t *fields =
        json_object_get(json_object_get(json_object_get(cfg, "tables"), "alltypes"), "fields");
    all = emu_table_get(&E, "main.test.alltypes", true);
    all->ncols = json_array_size(fields);
    all->cols = calloc(all->ncols, sizeof *all->cols);
    for (size_t i = 0; i < all->ncols; i++) {
        json_t *f = json_array_get(fields, i);
        struct zs_err err;
        all->cols[i].name = strdup(json_string_value(json_object_get(f, "name")));
        all->cols[i].type = emu_type_parse(json_string_value(json_object_get(f, "type")), &err);
        all->cols[i].nullable = true;
        if (all->cols[i].type == NULL)
            abort();
    }
    json_decref(cfg);
    /* The golden descriptor protoc made from tests/data/alltypes.proto. */
    FILE *fp = fopen(ZS_FUZZ_DESC, "rb");
    static uint8_t buf[1 << 16];
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(NULL, n, buf);
    if (set == NULL)
        abort();
    for (size_t i = 0; i < set->n_file; i++) {
        if (strcmp(set->file[i]->name, "alltypes.proto") != 0)
            continue;
        size_t dn =
            google__protobuf__descriptor_proto__get_packed_size(set->file[i]->message_type[0]);
        uint8_t *d = malloc(dn);
        google__protobuf__descriptor_proto__pack(set->file[i]->message_type[0], d);
        char msg[300];
        desc = emu_desc_create(&E, all, d, dn, msg, sizeof msg);
        free(d);
    }
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    if (desc == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (desc == NULL)
        init();
    if (size == 0)
        return 0;
    char msg[300];
    if (data[0] % 2 == 0) {
        struct zs_buf out;
        zs_buf_init(&out, 1 << 24);
        /* protobuf-c passes an empty record as NULL: so does the harness. */
        if (emu_decode_proto(desc, size > 1 ? data + 1 : NULL, size - 1, &out, msg, sizeof msg) !=
                0 &&
            msg[0] == '\0')
            abort();
        zs_buf_release(&out);
        return 0;
    }
    msg[0] = '\0';
    struct emu_desc *d = emu_desc_create(&E, all, data + 1, size - 1, msg, sizeof msg);
    if (d == NULL && msg[0] == '\0')
        abort();
    emu_desc_destroy(d);
    /* A fresh auto-created table each time: columns come from the descriptor. */
    if (autot == NULL)
        autot = emu_table_get(&E, "main.test.auto", true);
    emu_cols_free(autot->cols, autot->ncols);
    autot->cols = NULL;
    autot->ncols = 0;
    msg[0] = '\0';
    d = emu_desc_create(&E, autot, data + 1, size - 1, msg, sizeof msg);
    if (d == NULL && msg[0] == '\0')
        abort();
    if (d != NULL) {
        struct zs_buf out;
        zs_buf_init(&out, 1 << 20);
        (void)emu_decode_proto(d, data + 1, size - 1, &out, msg, sizeof msg);
        zs_buf_release(&out);
        json_t *j = emu_table_json(autot);
        json_decref(j);
    }
    emu_desc_destroy(d);
    return 0;
}
