"""Training: the loop, one step, and what happens around them.

One direction: ``build`` makes a :class:`~ganforge.train.loop.Loop` over a
:class:`~ganforge.train.trainer.Trainer` (which draws its random numbers in ``draws``, runs the
differentiable part in ``updates`` and steps the optimisers of ``optim``) plus the standard callbacks;
``loop`` runs ``fit`` and hands each callback the narrow
:class:`~ganforge.train.context.TrainingContext`; ``run`` puts a run directory (``rundir``), signals and
torchrun (``distributed``) around it for the CLI.
"""
