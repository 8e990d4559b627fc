"""Names and vocabularies fixed by the OPeRA dataset.

Everything here is a fact about the published data (see the dataset card), not a choice of
ours: column names, action and click types, the hub repository and its file layout.
"""

from __future__ import annotations

HUB_REPO_ID = "NEU-HAI/OPeRA"
HUB_URL = "https://huggingface.co/datasets/NEU-HAI/OPeRA"
#: OPeRA's licence and the use its card allows.
LICENSE = "CC-BY-4.0"
LICENSE_TERMS = "CC-BY-4.0, for research purposes only"

#: How to cite the dataset (arXiv 2506.05606) and the method (arXiv 2510.07230).
OPERA_CITATION = """@misc{wang2025operadatasetobservationpersona,
  title={OPeRA: A Dataset of Observation, Persona, Rationale, and Action for Evaluating LLMs on Human Online Shopping Behavior Simulation},
  author={Ziyi Wang and Yuxuan Lu and Wenbo Li and Amirali Amini and Bo Sun and Yakov Bart and Weimin Lyu and Jiri Gesi and Tian Wang and Jing Huang and Yu Su and Upol Ehsan and Malihe Alikhani and Toby Jia-Jun Li and Lydia Chilton and Dakuo Wang},
  year={2025}, eprint={2506.05606}, archivePrefix={arXiv}, primaryClass={cs.CL},
  url={https://arxiv.org/abs/2506.05606}
}"""
CUSTOMER_R1_CITATION = """@misc{wang2025customerr1,
  title={Customer-R1: Personalized Simulation of Human Behaviors via RL-based LLM Agent in Online Shopping},
  author={Ziyi Wang and Yuxuan Lu and Yimeng Zhang and Jing Huang and Dakuo Wang},
  year={2025}, eprint={2510.07230}, archivePrefix={arXiv}, primaryClass={cs.CL},
  url={https://arxiv.org/abs/2510.07230}
}"""
VARIANTS = ("filtered", "full")
SPLITS = ("train", "test")

#: Directory of each variant inside the dataset repository (and inside a local copy of it).
VARIANT_DIRS = {"filtered": "OPeRA_filtered", "full": "OPeRA_full"}

#: Action types of the filtered variant, the only ones an agent predicts.
ACTION_TYPES = ("click", "input", "terminate")
#: Action types that occur only in the full variant.
FULL_ONLY_ACTION_TYPES = ("scroll", "navigation", "tab_activate")

#: The 13 click types, in the dataset card's order.
CLICK_TYPES = (
    "purchase",
    "search",
    "review",
    "filter",
    "quantity",
    "product_option",
    "cart_side_bar",
    "suggested_term",
    "nav_bar",
    "page_related",
    "cart_page_select",
    "product_link",
    "other",
)

#: Columns of the filtered action table, in the published order. Every one is a string.
FILTERED_ACTION_COLUMNS = (
    "session_id",
    "action_id",
    "timestamp",
    "action_type",
    "click_type",
    "semantic_id",
    "mouse_position",
    "element_meta",
    "url",
    "window_size",
    "page_meta",
    "simplified_html",
    "rationale",
    "products",
    "input_text",
    "image",
)

#: Columns of the full action table, in the published order. Every one is a string.
FULL_ACTION_COLUMNS = (
    "session_id",
    "action_id",
    "timestamp",
    "action_type",
    "navigation_type",
    "simplified_html",
    "simplified_html_new_page",
    "url",
    "window_size",
    "page_meta",
    "rationale",
    "products",
    "scroll_detail",
    "click_type",
    "semantic_id",
    "target",
    "mouse_position",
    "element_meta",
    "input_text",
    "image",
    "image_new_page",
)

ACTION_COLUMNS = {"filtered": FILTERED_ACTION_COLUMNS, "full": FULL_ACTION_COLUMNS}

#: Columns that hold whole pages; read lazily, never into the session index.
PAGE_COLUMNS = ("simplified_html", "simplified_html_new_page")

#: Columns whose string value is JSON.
JSON_COLUMNS = ("mouse_position", "element_meta", "window_size", "page_meta", "products", "scroll_detail")

SESSION_COLUMNS = ("session_id", "user_id", "action_count")
USER_COLUMNS = ("user_id", "survey", "raw_survey", "interview_transcript", "interview_transcript_processed")

#: Top-level sections of the parsed user survey.
SURVEY_SECTIONS = ("Demographic Information", "Shopping Preference", "Self Description", "Personality")


def action_files_glob(variant: str, split: str) -> str:
    """Glob of the action parquet files of a variant and split, relative to the repository root."""
    return f"{VARIANT_DIRS[variant]}/action/{split}-*.parquet"


def session_file(variant: str, split: str) -> str:
    """Path of the session parquet file of a variant and split, relative to the repository root."""
    return f"{VARIANT_DIRS[variant]}/session/{split}/{split}.parquet"


def user_file(variant: str, split: str) -> str:
    """Path of the user parquet file of a variant and split, relative to the repository root."""
    return f"{VARIANT_DIRS[variant]}/user/{split}/{split}.parquet"
