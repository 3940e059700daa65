# Raw data (download + checksum, or local copy) and the train/holdout split.


rule fetch_data:
    output:
        paths.RAW,
    log:
        paths.log("fetch_data", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: GRID.fetch_slice(wc.dataset),
        # Where to read the data. A function of `output` is a "derived" param, which
        # Snakemake leaves out of its params trigger: moving the file (same sha256)
        # reruns nothing. The data's identity is in `job`.
        source=lambda wc, output: GRID.fetch_source(wc.dataset),
        code=code_of("fetch_data"),
    script:
        "../scripts/fetch_data.py"


rule prepare_data:
    input:
        rules.fetch_data.output[0],
    output:
        train=paths.TRAIN,
        holdout=paths.HOLDOUT,
        schema=paths.SCHEMA,
    log:
        paths.log("prepare_data", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    params:
        job=lambda wc: GRID.prepare_slice(wc.dataset),
        code=code_of("prepare_data"),
    script:
        "../scripts/prepare_data.py"
