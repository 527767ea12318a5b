namespace Berth.Core.ClusterQuery;

internal static class ClusterQueryParser
{
    public static ClusterQuery Parse(string expression) => throw new NotImplementedException(expression);
}
