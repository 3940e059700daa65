# The report: results/report/index.html (self-contained) and per-dataset plots,
# also shown in Snakemake's own report (snakemake --report report.zip).


report: "../report/workflow.rst"


rule report_plots:
    input:
        summary=paths.SUMMARY,
    output:
        # the headline plot: every setting, utility against audited and claimed epsilon
        privacy_utility=report(
            paths.fill(paths.REPORT_PLOT, dataset="{dataset}", plot="privacy_utility"),
            caption="../report/privacy_utility.rst",
            category="Privacy-utility plots",
            subcategory="{dataset}",
        ),
        accuracy_vs_epsilon=report(
            paths.fill(paths.REPORT_PLOT, dataset="{dataset}", plot="accuracy_vs_epsilon"),
            caption="../report/accuracy_vs_epsilon.rst",
            category="Privacy-utility plots",
            subcategory="{dataset}",
        ),
        mia_auc_vs_accuracy=report(
            paths.fill(paths.REPORT_PLOT, dataset="{dataset}", plot="mia_auc_vs_accuracy"),
            caption="../report/mia_auc_vs_accuracy.rst",
            category="Privacy-utility plots",
            subcategory="{dataset}",
        ),
        epsilon_vs_audit=report(
            paths.fill(paths.REPORT_PLOT, dataset="{dataset}", plot="epsilon_vs_audit"),
            caption="../report/epsilon_vs_audit.rst",
            category="Privacy-utility plots",
            subcategory="{dataset}",
        ),
        # one-run canary audit (privsynth.report.one_run)
        one_run_audit=report(
            paths.fill(paths.REPORT_PLOT, dataset="{dataset}", plot="one_run_audit"),
            caption="../report/one_run_audit.rst",
            category="Privacy-utility plots",
            subcategory="{dataset}",
        ),
    log:
        paths.log("report_plots", paths.PER_DATASET),
    conda:
        "../../envs/core.yaml"
    params:
        code=code_of("report_plots"),
    script:
        "../scripts/report_plots.py"


rule report:
    input:
        summary=paths.SUMMARY,
        plots=expand(
            paths.REPORT_PLOT,
            dataset=GRID.datasets,
            plot=[
                "privacy_utility",
                "accuracy_vs_epsilon",
                "mia_auc_vs_accuracy",
                "epsilon_vs_audit",
                "one_run_audit",
            ],
        ),
        # Everything else the run builds (EDA, audit, comparison tables, ...) and the
        # files their rules write beside them, so the page is written last and links
        # to exactly these (PLAN.report_inputs, privsynth.report.artefacts).
        artefacts=PLAN.report_inputs(),
    output:
        html=report(
            paths.REPORT,
            caption="../report/index.rst",
            category="Report",
        ),
    log:
        paths.log("report"),
    conda:
        "../../envs/core.yaml"
    params:
        code=code_of("report"),
    script:
        "../scripts/report.py"
