// Stack spills in the step loop are written before they are read; zeroing them would cost more than the step.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
