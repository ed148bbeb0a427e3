"""Learning from label proportions by belief propagation (Havaldar et al., arXiv 2310.08056): only
each bag's share of positives is known; BP on a k-NN graph with bag-count factors gives
pseudo-labels for a classifier. Pure numpy/scipy."""

from jurybox.llp.bp import BPResult, bag_potential, cardinality_messages, knn_graph, loopy_bp
from jurybox.llp.learn import (
    LinearModel,
    LLPResult,
    MulticlassLLPResult,
    SoftmaxModel,
    bag_mean_baseline,
    bag_proportions,
    check_bags,
    dllp_baseline,
    fit_soft_logreg,
    fit_soft_softmax,
    heldout_bag_error,
    learn_from_proportions,
    learn_from_proportions_multiclass,
    random_bags,
    refine_embedding,
)

__all__ = ["BPResult", "LLPResult", "LinearModel", "bag_mean_baseline", "bag_potential", "bag_proportions",
           "cardinality_messages", "check_bags", "dllp_baseline", "fit_soft_logreg", "fit_soft_softmax", "heldout_bag_error",
           "knn_graph",
           "learn_from_proportions", "learn_from_proportions_multiclass", "loopy_bp", "MulticlassLLPResult",
           "SoftmaxModel", "random_bags", "refine_embedding"]
